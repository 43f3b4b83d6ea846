"""A validated workflow definition → a LangGraph graph, built at Think time.

The graph runs the nodes one at a time in a topological order of the edges: START → prepare → each node →
finish → END, ending early on a failure. A node runs when it is a root (no incoming edge) or when an incoming
edge comes from a node that ran and its `when` holds; otherwise it is skipped (NODE_SKIPPED). A strict
order keeps joins and conditions simple and the run reproducible; the local agent's tools are the slow part
and they are sequential anyway (one tool call per Think step).

State: inputs (resolved), agent ({id, name, config}: the agent's settings, e.g. its time zone and
thresholds), now (the run's start from the clock port, ISO-8601), results (node id → result), ran, skipped,
notes, and the runner's contract keys `failure` and `output`. The state is checkpointed after every node, so it
never holds a large table: a table result is inline only when small, else a reference to a stored object with a
preview (phi.workflows.tables). Table nodes stream their inputs from the store and write their outputs back;
compute and render read what they need from the reference, within documented caps."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from pydantic import ValidationError

from phi.definitions import expressions, payloads, templating
from phi.definitions.document import NodeSpec, WorkflowDefinition, local_today, validate_inputs
from phi.definitions.functions import COMPUTE, MAX_RENDER_ROWS, RENDER, args_problems, check_contract, map_columns
from phi.definitions.table import Row, TableError, run_ops
from phi.definitions.table_format import is_table, needs_storable, storable, storable_text
from phi.documents.models import RELEVANT_SCORE, SearchHit
from phi.domain.models import EventType
from phi.errors import InvalidDefinition, LlmBudgetExhausted
from phi.guarded_http import OutboundRefused
from phi.llm import ChatMessage
from phi.workflows.contracts import ApprovalRequest, Approvers, ToolRequest
from phi.workflows.ports import EmailMessage, HttpFetch, Ports, WebhookMessage, ports_of
from phi.workflows.tables import head, keep, keep_tool_result, materialise, open_rows

MAX_LLM_CONTEXT_CHARS = 20_000
MAX_SUBJECT_CHARS = 200
DEFAULT_SYSTEM = (
    "You are an operations analyst. Use only the figures given; never invent or recompute numbers. "
    "Be brief and concrete."
)


class DefinitionState(TypedDict, total=False):
    task_id: str
    org_id: str
    agent_id: str
    inputs: dict[str, Any]
    agent: dict[str, Any]
    now: str
    results: dict[str, Any]
    ran: list[str]
    skipped: list[str]
    notes: list[str]
    failure: dict[str, str] | None
    output: dict[str, Any]


class NodeFailed(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(cause)
        self.error, self.cause = error, cause


def _context(state: DefinitionState) -> dict[str, Any]:
    """What templates and expressions see: inputs, the agent, now, and every result by its node id."""
    results = state.get("results") or {}
    return {
        **results,
        "inputs": state.get("inputs") or {},
        "results": results,
        "agent": state.get("agent") or {},
        "now": state.get("now") or "",
    }


def _fill(value: Any, state: DefinitionState) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, state) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, state) for v in value]
    return templating.fill(value, _context(state))


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300] if lines else ''}"


def _fill_text(value: Any, state: DefinitionState) -> str:
    return templating.fill_text(value, _context(state))


def _table(state: DefinitionState, node_id: str, reader: str) -> dict[str, Any]:
    value = (state.get("results") or {}).get(node_id)
    if not is_table(value):
        raise NodeFailed(
            "Workflow.NotATable",
            f"{reader} reads {node_id!r}, which has no table result"
            f"{' (it was skipped)' if node_id in (state.get('skipped') or []) else ''}",
        )
    return value


def _local_tool(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    s = node.settings
    variants: dict[str, str] | None = None
    if s["tool"] == "db.query":
        args: dict[str, Any] = {"sql": s["sql"], "params": _fill(s.get("params") or {}, state)}
        variants = s.get("sql_variants") or None
    else:
        args = {"path": _fill_text(s["path"], state), **{k: s[k] for k in ("sheet", "columns") if k in s}}
    if "max_rows" in s:
        args["max_rows"] = s["max_rows"]
    outcome = ports.tools.call(ToolRequest(tool=s["tool"], args=args, purpose=f"{node.id}", sql_variants=variants))
    if not outcome.ok:
        raise NodeFailed(
            outcome.error or "Tool.Error",
            f"Node {node.id}: {s['tool']} on the local agent failed: {outcome.error}: {outcome.cause}",
        )
    return keep_tool_result(ports, node.id, outcome.result or {})


class NodeSkipped(Exception):
    """The node ends without a result, as if no incoming edge held: nodes that need it are skipped too."""


def _approval(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    s = node.settings
    if ports.approvals is None:
        raise NodeFailed("Approval.Unavailable", f"Node {node.id}: approvals are not available to this run")
    approvers = s.get("approvers") or {}
    emails = list(approvers.get("emails") or [])
    # Named people alone are the approvers when no role is given; with neither, owners and admins decide.
    roles = approvers.get("roles") or ([] if emails else ["OWNER", "ADMIN"])
    request = ApprovalRequest(
        node_id=node.id,
        title=storable_text(_fill_text(s.get("title") or f"Approve {node.id}", state)[:300]),
        summary=storable_text(_fill_text(s.get("summary") or "", state)[:4000]),
        approvers=Approvers(roles=roles, emails=emails),
        timeout_seconds=int(s["timeout_seconds"]),
        on_timeout=s.get("on_timeout", "fail"),
    )
    outcome = ports.approvals.request(request)
    decision = {
        "decision": outcome.decision,
        "decided_by": outcome.decided_by,
        "decided_at": outcome.decided_at,
        "comment": outcome.comment,
    }
    if outcome.decision == "approved":
        return decision
    if outcome.decision == "rejected":
        if s.get("on_reject", "fail") == "continue":
            return decision
        reason = f": {outcome.comment}" if outcome.comment else ""
        raise NodeFailed("Approval.Rejected", f"Node {node.id}: rejected by {outcome.decided_by}{reason}")
    if outcome.decision == "timed_out":
        if request.on_timeout == "skip":
            raise NodeSkipped(f"{node.id} skipped: no decision within {request.timeout_seconds} s")
        raise NodeFailed("Approval.TimedOut", f"Node {node.id}: no decision within {request.timeout_seconds} s")
    raise NodeFailed(outcome.error or "Approval.Error", f"Node {node.id}: the approval failed: {outcome.cause}")


def _table_node(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    """Streams the input (inline or stored) through the operations and keeps the output (inline when small,
    else written as a new stored table): memory is bounded by the operations' own caps, not the table."""
    s = node.settings
    base = _table(state, s["input"], node.id)
    with ExitStack() as stack:
        columns, values = open_rows(base, ports, stack, f"The table of {s['input']}")

        def right(node_id: str) -> tuple[list[str], Iterable[Row]]:
            other_columns, other = open_rows(_table(state, node_id, node.id), ports, stack, f"The table of {node_id}")
            return other_columns, (dict(zip(other_columns, v, strict=False)) for v in other)

        rows = (dict(zip(columns, v, strict=False)) for v in values)
        out_columns, out = run_ops(columns, rows, s["ops"], right)
        result = keep(ports, node.id, out_columns, ([row.get(c) for c in out_columns] for row in out))
    # A table cut at a tool's row limit gives counts and totals of its first rows only: said on what is made of it.
    sources = [s["input"], *(op["right"] for op in s["ops"] if op.get("op") == "join")]
    capped = [name for name in dict.fromkeys(sources) if _table(state, name, node.id).get("truncated")]
    if capped:
        result = {
            **result,
            "truncated": True,
            "note": f"{node.id}: computed from {', '.join(capped)}, cut at the tool's row limit: its counts and "
            "totals cover the rows fetched only",
        }
    return result


def _compute(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    s = node.settings
    function = COMPUTE[s["function"]]
    mapping = s.get("column_mapping") or {}
    datasets = {
        name: map_columns(
            materialise(_table(state, source, node.id), ports, f"Dataset {name!r} ({source})"), mapping.get(name) or {}
        )
        for name, source in (s.get("inputs") or {}).items()
    }
    problems = check_contract(function, datasets)
    if problems:
        raise NodeFailed("Workflow.ContractError", f"Node {node.id}: {function.name}: " + "; ".join(problems))
    args = _fill(s.get("args") or {}, state)  # a template's failure is the template's (Workflow.TemplateError)
    refused = args_problems(function, args, filled=True)  # filled, each value has its type now
    if refused:
        raise NodeFailed("Workflow.ComputeError", f"Node {node.id}: {function.name} " + "; ".join(refused))
    try:
        return function.run(datasets, args)
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:  # ArithmeticError: a date at the calendar's end…
        raise NodeFailed("Workflow.ComputeError", f"Node {node.id}: {function.name}: {_compute_cause(exc)}") from exc


def _compute_cause(error: Exception) -> str:
    """A compute function's failure in words: a missing key is an input it needs, a model's validation errors are
    listed by field (never pydantic's text, which points at its web site); a TypeError (an arg of a type the
    function could not use) by its first line."""
    if isinstance(error, KeyError) and error.args:
        return f"needs the input {error.args[0]!r}"
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, problem['loc'])) or 'value'}: {problem['msg']}"
            for problem in error.errors(include_url=False)
        )
    if isinstance(error, TypeError):
        return f"could not use the args it was given ({_first_line(error)})"
    return str(error)


def _search_docs(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    s = node.settings
    if "strategy" in s:
        from phi.workflows.sop_retrieval import SEARCH_STRATEGIES

        try:
            return SEARCH_STRATEGIES[s["strategy"]](ports.documents, _fill(s.get("args") or {}, state))
        except (ValueError, KeyError) as exc:
            raise NodeFailed("Workflow.SearchError", f"Node {node.id}: {s['strategy']}: {exc}") from exc
    query = _fill_text(s["query"], state)
    if not ports.documents.has_documents():
        return {"query": query, "hits": []}
    floor = float(s.get("min_score", RELEVANT_SCORE))
    hits = [h for h in ports.documents.search(query, int(s.get("top_k", 3))) if h.score >= floor]
    return {"query": query, "hits": [h.model_dump(mode="json") for h in _distinct_passages(hits)]}


def _distinct_passages(hits: list[SearchHit]) -> list[SearchHit]:
    """Each passage once: the same text uploaded in two documents (a copy under another name) would be cited
    twice. The best-scored copy is kept (hits come best first)."""
    seen: set[str] = set()
    distinct = []
    for hit in hits:
        text = " ".join(hit.text.split()).casefold()
        if text not in seen:
            seen.add(text)
            distinct.append(hit)
    return distinct


def _llm(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    s = node.settings
    if ports.llm is None:
        return {"text": None, "note": f"{node.id}: skipped, no LLM is configured"}
    from phi.workflows.retry import call_llm_with_retry

    results = state.get("results") or {}
    context = {name: results.get(name) for name in s.get("context") or []}
    prompt = _fill_text(s["prompt"], state)
    if context:
        # compact separators: fewer tokens for the same figures
        prompt += "\n\nData (JSON):\n" + json.dumps(context, default=str, separators=(",", ":"))[:MAX_LLM_CONTEXT_CHARS]
    messages = [
        ChatMessage(role="system", content=_fill_text(s.get("system") or DEFAULT_SYSTEM, state)),
        ChatMessage(role="user", content=prompt),
    ]
    llm = ports.llm
    try:
        response = call_llm_with_retry(lambda: llm.chat(messages, purpose=s.get("purpose", "analysis")))
    except LlmBudgetExhausted as exc:  # the workflow goes on without the model's text, and says why
        return {"text": None, "note": f"{node.id}: skipped, {exc.message}", "refused": exc.message}
    except Exception as exc:
        # Raised on, a provider's error would reach the task's error and events as its message, which can echo
        # the request or a masked API key (OpenAI's 401 does): the node fails with what kind of failure it was.
        from phi.llm.failures import explain

        raise NodeFailed("Workflow.LlmError", f"Node {node.id}: the model did not answer: {explain(exc)}") from exc
    return {"text": response.text.strip() or None, "model": response.model}


def _render(node: NodeSpec, state: DefinitionState, ports: Ports, definition: WorkflowDefinition) -> Any:
    s = node.settings
    results = state.get("results") or {}
    if s.get("names"):
        named = {name: results.get(source) for name, source in s["names"].items()}
    else:
        shown = s.get("sections") or [n for n in state.get("ran") or [] if n != node.id]
        named = {name: results[name] for name in shown if name in results}
    # a stored table reaches the template as its first rows and its row count, read from its reference
    named = {
        name: head(value, ports, MAX_RENDER_ROWS, f"The table {name}") if is_table(value) else value
        for name, value in named.items()
    }
    if s.get("args"):
        named["args"] = _fill(s["args"], state)
    title = _fill_text(s.get("title") or definition.name, state)
    agent_name = str((state.get("agent") or {}).get("name") or "")  # who prepared it: a fact, not a setting
    try:
        output = RENDER[s["template"]].run(title, named, list(state.get("notes") or []), agent_name)
    except (KeyError, ValueError, TypeError, AttributeError, ArithmeticError) as exc:
        # A renderer reads the results the definition names (`names`, `sections`): results of another shape (a
        # condition's where the report's figures should be) are the definition's mistake, said as such.
        missing = f"no result named {exc.args[0]!r}" if isinstance(exc, KeyError) and exc.args else _first_line(exc)
        raise NodeFailed(
            "Workflow.RenderError",
            f"Node {node.id}: the template {s['template']} cannot render the results it was given ({missing}); "
            "check the node's names and sections",
        ) from exc
    ports.events.record(
        EventType.REPORT_GENERATED, f"Report generated: {output.get('title', title)}", {"node": node.id}
    )
    return output


def _notify(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    s = node.settings
    if ports.notifier is None:
        raise NodeFailed("Workflow.NoNotifier", f"Node {node.id}: this runner has no notifier")
    if s["channel"] == "email":
        subject = " ".join(_fill_text(s["subject"], state).split())[:MAX_SUBJECT_CHARS]  # one line
        message = EmailMessage(node_id=node.id, to=list(s["to"]), subject=subject, body=_fill_text(s["body"], state))
        report = ports.notifier.email(message)
    else:
        body = {
            "task_id": state.get("task_id"),
            "agent_id": state.get("agent_id"),
            "node": node.id,
            "text": _fill_text(s["body"], state) if "body" in s else None,
            "data": _fill(s.get("payload") or {}, state),
        }
        report = ports.notifier.webhook(WebhookMessage(node_id=node.id, url=s["url"], body=body))
    result: dict[str, Any] = report.model_dump(mode="json")
    if report.status == "FAILED":
        cause = f"Node {node.id}: the {s['channel']} was not delivered: {report.error}"
        if s.get("on_error") == "fail":
            raise NodeFailed("Notify.DeliveryFailed", cause)
        result["note"] = cause
    return result


def _http(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    s = node.settings
    if ports.http is None:
        raise NodeFailed("Workflow.NoHttp", f"Node {node.id}: this runner has no HTTP port")
    method = s.get("method", "GET")
    request = HttpFetch(
        method=method,
        url=s["url"],
        params={k: str(v) for k, v in _fill(s.get("query") or {}, state).items()},
        json_body=_fill(s["body"], state) if method == "POST" and "body" in s else None,
        timeout_seconds=s.get("timeout_seconds"),
        max_bytes=s.get("max_bytes"),
    )
    try:
        fetched = ports.http.fetch(request)
    except OutboundRefused as exc:
        raise NodeFailed(exc.code, f"Node {node.id}: {method} {s['url']} refused: {exc.message}") from exc
    if not 200 <= fetched.status < 300:
        raise NodeFailed("Http.Status", f"Node {node.id}: {method} {s['url']} answered HTTP {fetched.status}")
    max_rows = int(s.get("max_rows", payloads.MAX_ROWS))
    try:
        if s.get("format", "json") == "csv":
            table = payloads.csv_table(fetched.content, max_rows)
        else:
            table = payloads.json_table(fetched.content, s.get("rows"), max_rows)
    except payloads.PayloadError as exc:
        raise NodeFailed("Http.BadPayload", f"Node {node.id}: {exc}") from exc
    return keep_tool_result(ports, node.id, table)  # a large table goes to the store, like a tool's


def _condition(node: NodeSpec, state: DefinitionState, ports: Ports) -> Any:
    expression = node.settings["expression"]
    # A text is no truth here either: a condition on a CSV's "false" had held (JSON Logic's truth of any text).
    return {"value": expressions.truth(expressions.evaluate(expression, _context(state)), expression, "it gives")}


Executor = Callable[[NodeSpec, DefinitionState, Ports], Any]
EXECUTORS: dict[str, Executor] = {
    "local_tool": _local_tool,
    "table": _table_node,
    "compute": _compute,
    "search_docs": _search_docs,
    "llm": _llm,
    "condition": _condition,
    "notify": _notify,
    "http": _http,
    "approval": _approval,
}


def _active(definition: WorkflowDefinition, node_id: str, state: DefinitionState) -> bool:
    incoming = [e for e in definition.edges if e.target == node_id]
    if not incoming:
        return True
    ran = set(state.get("ran") or [])
    context = _context(state)
    return any(
        e.source in ran
        and (e.when is None or expressions.truth(expressions.evaluate(e.when, context), e.when, "its `when` gives"))
        for e in incoming
    )


def _step(definition: WorkflowDefinition, node: NodeSpec) -> Any:  # a LangGraph node taking (state, config)
    def run(state: DefinitionState, config: RunnableConfig) -> DefinitionState:
        ports = ports_of(config)
        try:
            active = _active(definition, node.id, state)
        except expressions.ExpressionError as exc:
            return {"failure": {"error": "Workflow.ExpressionError", "cause": f"Edge into {node.id}: {exc}"}}
        if not active:
            ports.events.record(EventType.NODE_SKIPPED, f"{node.id} skipped: no incoming edge holds", {"node": node.id})
            return {"skipped": [*(state.get("skipped") or []), node.id]}
        try:
            if node.kind == "render":
                result = _render(node, state, ports, definition)
            else:
                result = EXECUTORS[node.kind](node, state, ports)
        except NodeFailed as exc:
            return {"failure": {"error": exc.error, "cause": exc.cause}}
        except NodeSkipped as exc:
            ports.events.record(EventType.NODE_SKIPPED, str(exc), {"node": node.id})
            return {"skipped": [*(state.get("skipped") or []), node.id]}
        except (TableError, expressions.ExpressionError) as exc:
            return {"failure": {"error": "Workflow.TableError", "cause": f"Node {node.id}: {exc}"}}
        except templating.TemplateError as exc:
            return {"failure": {"error": "Workflow.TemplateError", "cause": f"Node {node.id}: {exc}"}}
        result = _storable_result(result)
        if result is _NOT_FINITE:
            cause = f"Node {node.id}: its result holds a number that is not finite (NaN or Infinity), "
            cause += "which JSON cannot hold"
            return {"failure": {"error": "Workflow.ResultError", "cause": cause}}
        update: DefinitionState = {
            "results": {**(state.get("results") or {}), node.id: result},
            "ran": [*(state.get("ran") or []), node.id],
        }
        if isinstance(result, dict) and result.get("note"):
            update["notes"] = [*(state.get("notes") or []), str(result["note"])]
        if node.kind != "render":
            rows = result.get("row_count") if isinstance(result, dict) else None
            message = f"{node.id} ({node.kind}) done" + (f": {rows:,} rows" if isinstance(rows, int) else "")
            if node.kind == "llm" and isinstance(result, dict) and result.get("text") is None and result.get("note"):
                message = f"{node.id} ({node.kind}): {str(result['note']).removeprefix(f'{node.id}: ')}"  # not done
            ports.events.record(EventType.NODE_COMPLETED, message, {"node": node.id, "rows": rows})
        return update

    return run


_NOT_FINITE = object()


def _storable_result(result: Any) -> Any:
    """The result as the task can keep it, or _NOT_FINITE when it holds NaN or ±Infinity (from data, a function's
    arithmetic, a fetched document): neither the task's output (a jsonb column) nor a downloaded result could hold
    it, so the task would fail later, storing it, without saying which node made it. What is valid but cannot be
    kept (a NUL or a lone surrogate half that a template or a fetched answer made, an integer past 64 bits from an
    input or arithmetic) is changed as tool results are (phi.definitions.table_format.storable)."""
    try:
        text = json.dumps(result, allow_nan=False, default=str)
    except ValueError:
        return _NOT_FINITE
    return storable(result) if needs_storable(text) else result


def _prepare(definition: WorkflowDefinition) -> Any:
    def run(state: DefinitionState, config: RunnableConfig) -> DefinitionState:
        ports = ports_of(config)
        task = ports.task.load()
        if task is None:
            return {"failure": {"error": "Task.NotFound", "cause": "The task or its agent no longer exists."}}
        try:
            inputs = validate_inputs(
                definition, task.input, today=local_today(definition, ports.clock.now()), resolve_relative=True
            )
        except InvalidDefinition as exc:
            return {"failure": {"error": "Workflow.InvalidInput", "cause": exc.message}}
        agent = {"id": task.agent_id, "name": task.agent_name, "config": task.agent_config}
        return {
            "inputs": inputs,
            "agent": agent,
            "now": ports.clock.now().isoformat(),
            "results": {},
            "ran": [],
            "skipped": [],
            "notes": [],
            "failure": None,
        }

    return run


def _finish(definition: WorkflowDefinition) -> Any:
    kinds = {n.id: n.kind for n in definition.nodes}

    def run(state: DefinitionState) -> DefinitionState:
        results, ran = state.get("results") or {}, state.get("ran") or []
        chosen = definition.output if definition.output in ran else None
        chosen = chosen or next((n for n in reversed(ran) if kinds[n] == "render"), None)
        chosen = chosen or (ran[-1] if ran else None)
        value = results.get(chosen) if chosen else None
        output = dict(value) if isinstance(value, dict) else {"value": value}
        if state.get("notes"):
            output.setdefault("notes", state["notes"])
        output["workflow"] = {"key": definition.key, "ran": ran, "skipped": state.get("skipped") or []}
        return {"output": output}

    return run


def _name(node_id: str) -> str:
    return f"n_{node_id}"


def compile_definition(definition: WorkflowDefinition) -> StateGraph:
    graph = StateGraph(DefinitionState)
    order = definition.order()
    by_id = {n.id: n for n in definition.nodes}
    graph.add_node("prepare", _prepare(definition))
    for node_id in order:
        graph.add_node(_name(node_id), _step(definition, by_id[node_id]))
    graph.add_node("finish", _finish(definition))
    graph.add_edge(START, "prepare")
    chain = ["prepare", *(_name(n) for n in order), "finish"]
    for current, following in itertools.pairwise(chain):
        graph.add_conditional_edges(current, _unless_failed(following), [following, END])
    graph.add_edge("finish", END)
    return graph


def _unless_failed(following: str) -> Callable[[DefinitionState], str]:
    def route(state: DefinitionState) -> str:
        return END if state.get("failure") else following

    return route
