"""The workflow definition document: its JSON Schema (published at GET /workflow-schema and kept in the
repository as workflow-definition.schema.json), validation with errors that name the node and the field, and
the task input a definition accepts."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from phi.definitions import expressions, templating
from phi.definitions.functions import COMPUTE, args_problems, check_contract
from phi.definitions.nesting import NotFinite, TooLarge, joined, measure
from phi.definitions.node_kinds import EXPRESSION, KINDS, NODE_ID, NODE_ID_PATTERN
from phi.definitions.schedule_times import to_eventbridge
from phi.definitions.table_format import INT64
from phi.errors import BadRequest, InvalidDefinition

SCHEMA_FILE = Path(__file__).with_name("workflow-definition.schema.json")
MAX_DOCUMENT_BYTES = 256 * 1024
KEY_PATTERN = "^[A-Za-z][A-Za-z0-9_]{0,63}$"
INPUT_TYPES = ("string", "integer", "number", "boolean", "date", "timezone")
# Names templates and expressions see besides the node ids: inputs, results, the agent (id, name, config) and
# now (the run's start, ISO-8601 UTC, from the clock port).
RESERVED_IDS = frozenset({"inputs", "results", "agent", "now"})


def build_schema() -> dict[str, Any]:
    node_rules = [
        {
            "if": {"properties": {"kind": {"const": kind.name}}, "required": ["kind"]},
            "then": {"properties": {"settings": kind.settings}},
        }
        for kind in KINDS.values()
    ]
    edge = {
        "oneOf": [
            {
                "type": "array",
                "prefixItems": [NODE_ID, NODE_ID],
                "minItems": 2,
                "maxItems": 2,
                "description": "[from, to]",
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["from", "to"],
                "properties": {"from": NODE_ID, "to": NODE_ID, "when": EXPRESSION},
            },
        ]
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Phi workflow definition",
        "description": "What an agent does, as data: typed inputs, an optional schedule, nodes and edges.",
        "type": "object",
        "additionalProperties": False,
        "required": ["key", "name", "nodes"],
        "properties": {
            "key": {"type": "string", "pattern": KEY_PATTERN, "description": "The task type this workflow runs as"},
            "name": {"type": "string", "minLength": 1, "maxLength": 120},
            "description": {"type": "string", "maxLength": 2000},
            "inputs": {
                "type": "object",
                "maxProperties": 30,
                "propertyNames": {"pattern": NODE_ID_PATTERN},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["type"],
                    "properties": {
                        "type": {"enum": list(INPUT_TYPES)},
                        "required": {"type": "boolean"},
                        "default": {"description": "a value; a date may be today / yesterday"},
                        "description": {"type": "string", "maxLength": 500},
                        "enum": {"type": "array", "maxItems": 100},
                    },
                },
            },
            "schedule": {
                "type": "object",
                "additionalProperties": False,
                "required": ["cron"],
                "properties": {
                    "cron": {"type": "string", "maxLength": 100, "description": "5-field cron, e.g. 0 7 * * *"},
                    "timezone": {"type": "string", "maxLength": 64, "default": "UTC"},
                    "overlap": {"enum": ["SKIP", "ALLOW"], "default": "SKIP"},
                    "input": {"type": "object", "description": "the inputs of scheduled runs"},
                },
            },
            "nodes": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "kind", "settings"],
                    "properties": {
                        "id": NODE_ID,
                        "kind": {"enum": list(KINDS)},
                        "settings": {"type": "object"},
                        "description": {"type": "string", "maxLength": 500},
                    },
                    "allOf": node_rules,
                },
            },
            "edges": {"type": "array", "maxItems": 500, "items": edge},
            "output": {
                **NODE_ID,
                "description": "the node whose result is the task's output (default: the last "
                "render node that ran, else the last node that ran)",
            },
        },
    }


@cache
def published_schema() -> dict[str, Any]:
    return build_schema()


class InputSpec(BaseModel):
    type: Literal["string", "integer", "number", "boolean", "date", "timezone"]
    required: bool = False
    default: Any = None
    description: str | None = None
    enum: list[Any] | None = None


class ScheduleSpec(BaseModel):
    cron: str
    timezone: str = "UTC"
    overlap: Literal["SKIP", "ALLOW"] = "SKIP"
    input: dict[str, Any] = Field(default_factory=dict)


class NodeSpec(BaseModel):
    id: str
    kind: str
    settings: dict[str, Any]
    description: str | None = None


class EdgeSpec(BaseModel):
    source: str
    target: str
    when: Any = None


class WorkflowDefinition(BaseModel):
    key: str
    name: str
    description: str | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    schedule: ScheduleSpec | None = None
    nodes: list[NodeSpec]
    edges: list[EdgeSpec] = Field(default_factory=list)
    output: str | None = None

    def order(self) -> list[str]:
        """Node ids in a topological order (ties in document order)."""
        return _topological(self)[0]


class Problem(BaseModel):
    node: str | None = None
    field: str
    message: str


def _edges(raw: dict[str, Any]) -> list[EdgeSpec]:
    edges = []
    for edge in raw.get("edges") or []:
        if isinstance(edge, list):
            edges.append(EdgeSpec(source=edge[0], target=edge[1]))
        else:
            edges.append(EdgeSpec(source=edge["from"], target=edge["to"], when=edge.get("when")))
    return edges


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(document)"


# An unescaped `$` of a pattern (fastjsonschema, in phi.services.catalog, reads patterns the same way).
_END_OF_PATTERN = re.compile(r"(?<!\\)\$")


@cache
def _validator_class() -> Any:
    """Draft 2020-12, with `pattern` read as JSON Schema means it: an ECMA-262 expression, where `$` ends the
    text. Python's `$` also matches before a final newline, which let "daily\n" pass as a key or a node id.

    jsonschema checks every keyword of a schema, also when another has already refused the value: a
    `pattern` backtracks over the whole of a text far past its `maxLength` (the e-mail pattern is quadratic:
    80 KB of `a.a.a.…` held the validation for 32 s), and `uniqueItems` compares every pair of a list far past
    its `maxItems` (5,000 objects as approver roles: 49 s). A definition is outside input, up to 256 KiB, so
    these two keywords are skipped on a value longer than its own bound, which refuses it on its own."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def pattern(validator: Any, regex: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "string") or _over(len(instance), schema.get("maxLength")):
            return
        if not _ecma_pattern(regex).search(instance):
            yield ValidationError(f"{instance!r} does not match {regex!r}")

    unique_items = Draft202012Validator.VALIDATORS["uniqueItems"]

    def bounded_unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if validator.is_type(instance, "array") and _over(len(instance), schema.get("maxItems")):
            return
        yield from unique_items(validator, unique, instance, schema)

    return validators.extend(Draft202012Validator, {"pattern": pattern, "uniqueItems": bounded_unique_items})


def _over(length: int, bound: Any) -> bool:
    return isinstance(bound, int) and length > bound


@cache
def _ecma_pattern(regex: str) -> re.Pattern[str]:
    return re.compile(_END_OF_PATTERN.sub(r"\\Z", regex))


def _schema_problems(raw: Any) -> list[Problem]:
    from jsonschema.exceptions import best_match

    validator = _validator_class()(published_schema())
    problems = []
    nodes = raw.get("nodes") if isinstance(raw, dict) else None
    for error in sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path)):
        # "if/then" and "oneOf" report the umbrella; the best match names the precise field
        error = best_match([error]) if not error.context else best_match(error.context)
        path = list(error.absolute_path)
        node = None
        if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int) and isinstance(nodes, list):
            item = nodes[path[1]] if path[1] < len(nodes) else None
            node = item.get("id") if isinstance(item, dict) else None
        problems.append(Problem(node=node, field=_path(path), message=error.message))
    unique: dict[tuple[str | None, str, str], Problem] = {(p.node, p.field, p.message): p for p in problems}
    return list(unique.values())[:50]


def _topological(definition: WorkflowDefinition) -> tuple[list[str], list[str]]:
    """(order, nodes left in a cycle)."""
    ids = [n.id for n in definition.nodes]
    incoming = {i: 0 for i in ids}
    children: dict[str, list[str]] = {i: [] for i in ids}
    for edge in definition.edges:
        if edge.source in children and edge.target in incoming:
            children[edge.source].append(edge.target)
            incoming[edge.target] += 1
    ready = [i for i in ids if incoming[i] == 0]
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for child in children[current]:
            incoming[child] -= 1
            if incoming[child] == 0:
                ready.append(child)
    return order, [i for i in ids if i not in order]


def _ancestors(definition: WorkflowDefinition) -> dict[str, set[str]]:
    parents: dict[str, set[str]] = {n.id: set() for n in definition.nodes}
    for edge in definition.edges:
        if edge.target in parents:
            parents[edge.target].add(edge.source)
    result: dict[str, set[str]] = {}
    for node in definition.order():
        result[node] = set().union(*(result.get(p, set()) | {p} for p in parents[node])) if parents[node] else set()
    return result


def _graph_problems(definition: WorkflowDefinition) -> list[Problem]:
    problems: list[Problem] = []
    index = {n.id: i for i, n in enumerate(definition.nodes)}
    seen: set[str] = set()
    for i, node in enumerate(definition.nodes):
        if node.id in seen:
            problems.append(Problem(node=node.id, field=f"nodes[{i}].id", message=f"id {node.id!r} is used twice"))
        if node.id in RESERVED_IDS:
            problems.append(
                Problem(
                    node=node.id,
                    field=f"nodes[{i}].id",
                    message=f"{node.id!r} is reserved (templates see the inputs and results by it)",
                )
            )
        seen.add(node.id)
    first_edge: dict[tuple[str, str], int] = {}
    for i, edge in enumerate(definition.edges):
        for end, name in (("from", edge.source), ("to", edge.target)):
            if name not in index:
                problems.append(Problem(field=f"edges[{i}].{end}", message=f"no node has the id {name!r}"))
        if edge.source == edge.target:
            problems.append(Problem(node=edge.source, field=f"edges[{i}]", message="an edge from a node to itself"))
        # A second edge between the same nodes runs the target whenever either holds: an unconditional copy
        # beside a guarded edge silently drops the guard (and reads as a mere reordering of the edges).
        earlier = first_edge.setdefault((edge.source, edge.target), i)
        if earlier != i:
            problems.append(
                Problem(
                    node=edge.target,
                    field=f"edges[{i}]",
                    message=f"edges[{earlier}] already goes from {edge.source!r} to {edge.target!r}: give one edge "
                    'between two nodes (to run it on either of two conditions, join them with {"or": [...]})',
                )
            )
        if edge.when is not None:
            problems += _expression_problem(edge.when, None, f"edges[{i}].when")
    if definition.output is not None and definition.output not in index:
        problems.append(Problem(field="output", message=f"no node has the id {definition.output!r}"))
    if problems:
        return problems
    _, cyclic = _topological(definition)
    if cyclic:
        return [Problem(node=n, field=f"nodes[{index[n]}]", message="is on a cycle of edges") for n in cyclic]
    linked = {e.source for e in definition.edges} | {e.target for e in definition.edges}
    if len(definition.nodes) > 1:
        problems += [
            Problem(
                node=n.id,
                field=f"nodes[{index[n.id]}]",
                message="is connected to no other node: it would never receive anything",
            )
            for n in definition.nodes
            if n.id not in linked
        ]
    ancestors = _ancestors(definition)
    for node in definition.nodes:
        for field, read in KINDS[node.kind].reads(node.settings):
            where = f"nodes[{index[node.id]}].settings.{field}"
            if read not in index:
                problems.append(Problem(node=node.id, field=where, message=f"no node has the id {read!r}"))
            elif read not in ancestors[node.id]:
                problems.append(
                    Problem(
                        node=node.id,
                        field=where,
                        message=f"reads {read!r}, which is not reachable before it: add a path of edges from it",
                    )
                )
    return problems


def _expression_problem(expression: Any, node: str | None, field: str) -> list[Problem]:
    try:
        expressions.check(expression)
    except expressions.ExpressionError as exc:
        return [Problem(node=node, field=field, message=str(exc))]
    return []


def _template_problem(text: Any, node: str | None, field: str) -> list[Problem]:
    if not isinstance(text, str):
        return []
    try:
        templating.check_template(text)
    except templating.TemplateError as exc:
        return [Problem(node=node, field=field, message=str(exc))]
    return []


def _nested_template_problems(value: Any, node: str, field: str) -> list[Problem]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nested_template_problems(v, node, f"{field}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nested_template_problems(v, node, f"{field}[{i}]")]
    return _template_problem(value, node, field)


def _settings_problems(definition: WorkflowDefinition) -> list[Problem]:
    problems: list[Problem] = []
    for i, node in enumerate(definition.nodes):
        where, s = f"nodes[{i}].settings", node.settings
        if node.kind == "local_tool":
            for name, value in (s.get("params") or {}).items():
                problems += _template_problem(value, node.id, f"{where}.params.{name}")
            problems += _template_problem(s.get("path"), node.id, f"{where}.path")
        elif node.kind == "table":
            for j, op in enumerate(s["ops"]):
                for key in ("where", "expr"):
                    if key in op:
                        problems += _expression_problem(op[key], node.id, f"{where}.ops[{j}].{key}")
        elif node.kind == "compute":
            function = COMPUTE[s["function"]]
            inputs = s.get("inputs") or {}
            unknown = set(inputs) - set(function.datasets)
            if unknown and function.datasets:
                problems.append(
                    Problem(
                        node=node.id,
                        field=f"{where}.inputs",
                        message=(
                            f"{function.name} takes no dataset {', '.join(sorted(unknown))}; it takes "
                            f"{', '.join(function.datasets)}"
                        ),
                    )
                )
            for name, mapping in (s.get("column_mapping") or {}).items():
                if name not in inputs:
                    problems.append(
                        Problem(
                            node=node.id,
                            field=f"{where}.column_mapping.{name}",
                            message=f"maps columns of {name!r}, which is not among the inputs",
                        )
                    )
                contract = (*function.datasets.get(name, ()), *function.optional_columns.get(name, ()))
                extra = [c for c in mapping if contract and c not in contract]
                if extra:
                    problems.append(
                        Problem(
                            node=node.id,
                            field=f"{where}.column_mapping.{name}",
                            message=(f"{', '.join(extra)} not in the contract of {name!r} ({', '.join(contract)})"),
                        )
                    )
            missing = [d for d in function.datasets if d not in inputs and d not in function.optional_datasets]
            if missing:
                problems.append(
                    Problem(
                        node=node.id,
                        field=f"{where}.inputs",
                        message=f"{function.name} needs the dataset(s) {', '.join(missing)}",
                    )
                )
            for name, value in (s.get("args") or {}).items():  # filled whole when the node runs, nested too
                problems += _nested_template_problems(value, node.id, f"{where}.args.{name}")
            problems += [
                Problem(node=node.id, field=f"{where}.args", message=f"{function.name} {problem}")
                for problem in args_problems(function, s.get("args") or {}, filled=False)
            ]
        elif node.kind in ("search_docs", "llm", "render"):
            for key in ("query", "prompt", "system", "title"):
                problems += _template_problem(s.get(key), node.id, f"{where}.{key}")
            for name, value in (s.get("args") or {}).items():
                problems += _nested_template_problems(value, node.id, f"{where}.args.{name}")
        elif node.kind == "approval":
            for key in ("title", "summary"):
                problems += _template_problem(s.get(key), node.id, f"{where}.{key}")
        elif node.kind == "condition":
            problems += _expression_problem(s["expression"], node.id, f"{where}.expression")
        elif node.kind == "notify":
            for key in ("subject", "body"):
                problems += _template_problem(s.get(key), node.id, f"{where}.{key}")
            problems += _nested_template_problems(s.get("payload"), node.id, f"{where}.payload")
        elif node.kind == "http":
            problems += _nested_template_problems(s.get("query"), node.id, f"{where}.query")
            problems += _nested_template_problems(s.get("body"), node.id, f"{where}.body")
    return problems


# What each of the five fields may hold: numbers, names, `*`, lists, ranges and steps — plus `L` (last) in the day
# of the month and `L` / `#` (the last, the nth weekday) in the day of the week, which EventBridge reads the same.
# croniter also takes `R` (a random value, drawn again at every tick), `H` and `?`, which EventBridge refuses or
# reads otherwise.
_CRON_FIELDS = (
    ("minute", re.compile(r"[0-9*,/\-]+")),
    ("hour", re.compile(r"[0-9*,/\-]+")),
    ("day of the month", re.compile(r"[0-9*,/\-]+|L")),
    ("month", re.compile(r"(?:[0-9*,/\-]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)+", re.IGNORECASE)),
    ("day of the week", re.compile(r"(?:[0-9*,/\-]|SUN|MON|TUE|WED|THU|FRI|SAT)+|[0-7]L|[0-7]#[1-5]", re.IGNORECASE)),
)


# Each field's numbers (names and `L` / `#` are checked by _CRON_FIELDS); Sunday is 0 or 7.
_CRON_RANGES = {
    "minute": (0, 59),
    "hour": (0, 23),
    "day of the month": (1, 31),
    "month": (1, 12),
    "day of the week": (0, 7),
}


def cron_problem(cron: str) -> str | None:
    """Why `cron` cannot schedule anything, or None: it is not five fields, a field holds what standard cron does
    not (naming the field), a number is out of its field's range (naming it and the range), or no date matches it
    (30 February, 31 April), which croniter would only find out when asked for the next run."""
    from croniter import CroniterBadDateError, croniter

    from phi.definitions.schedule_times import croniter_expression

    fields = cron.split()
    if len(fields) != 5:
        return (
            f"{cron!r} is not a 5-field cron expression (it has {len(fields)}: minute, hour, day of the month, month "
            "and day of the week are needed)"
        )
    for (name, allowed), field in zip(_CRON_FIELDS, fields, strict=True):
        if not allowed.fullmatch(field):
            return _unsupported_field(cron, name, field)
        out_of_range = _out_of_range(name, field)
        if out_of_range:
            return f"{cron!r}: {out_of_range}"
    if any(part.split("/")[0].startswith("7-") for part in fields[4].split(",")):
        return f"{cron!r}: a day-of-week range starting at 7; write Sunday as 0"
    readable = croniter_expression(cron)
    if not croniter.is_valid(readable):
        return f"{cron!r} is not a cron expression this scheduler can read"
    try:
        croniter(readable, dt.datetime.now(dt.UTC)).get_next(dt.datetime)
    except CroniterBadDateError:
        return f"{cron!r} never fires: no date matches it (such as 30 February or 31 April)"
    return None


def _unsupported_field(cron: str, name: str, field: str) -> str:
    """Why a field's text is refused: `L` where it is not supported said as such, anything else as not standard."""
    if "L" in field.upper() and name in ("day of the month", "day of the week"):
        takes = "L only alone (its last day)" if name == "day of the month" else "L only after one weekday (5L)"
        return f"{cron!r}: {field!r} is not supported in the {name}, which takes {takes}"
    return (
        f"{cron!r}: the {name} field {field!r} is not standard cron (numbers, month and weekday names,"
        " * , - / only; L and # in the day fields)"
    )


def _out_of_range(name: str, field: str) -> str | None:
    """What is out of range in a field ('minute 61 is out of range 0-59', written with an en dash): its first
    number outside the field's range, or a step below 1."""
    low, high = _CRON_RANGES[name]
    for part in field.split(","):
        span, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"the {name} step {step!r} is not a whole number of at least 1"
        for number in re.findall(r"\d+", span.split("#")[0]):
            if not low <= int(number) <= high:
                return f"{name} {int(number)} is out of range {low}\N{EN DASH}{high}"
    return None


def never_fires_problem(cron: str, zone: Any) -> str | None:
    """Why a valid `cron` never fires in the time zone `zone` (a ZoneInfo), or None: every time it names is one the
    clocks skip there (02:30 on the day summer time starts, and only then), which the next-run search would only
    find out after trying every match to the year 9999."""
    from phi.definitions.schedule_times import next_fire

    try:
        next_fire(cron, zone, dt.datetime.now(dt.UTC))
    except ValueError:
        return f"{cron!r} never fires in {zone.key}: every time it names is skipped when the clocks go forward"
    return None


def nesting_problems(value: Any, where: str = "") -> list[Problem]:
    """Nested JSON from a user or a model that nests deeper than nesting.MAX_JSON_DEPTH levels or is larger than
    a definition may be, found by a walk that does not recurse: copy.deepcopy, json, jsonschema and jsonpatch
    all do, and fail with a RecursionError a few hundred levels down. Also a NaN or Infinity (`1e999`), which
    would be stored as null: `{">": [x, Infinity]}` would silently become `{">": [x, null]}`, never true."""
    try:
        measure(value, MAX_DOCUMENT_BYTES, finite=True)
    except NotFinite as exc:
        return [Problem(field=joined(where, exc.where) or "(document)", message=str(exc))]
    except TooLarge as exc:
        if exc.too_deep:
            return [Problem(field=joined(where, exc.where) or "(document)", message=str(exc))]
        return [Problem(field=where or "(document)", message=f"larger than {MAX_DOCUMENT_BYTES // 1024} KiB")]
    return []


def _schedule_problems(definition: WorkflowDefinition) -> list[Problem]:
    if definition.schedule is None:
        return []
    problems = []
    problem = cron_problem(definition.schedule.cron)
    if problem:
        problems.append(Problem(field="schedule.cron", message=problem))
    from phi.workflows.timeframes import zone

    try:
        schedule_zone = zone(definition.schedule.timezone)
    except ValueError as exc:
        problems.append(Problem(field="schedule.timezone", message=str(exc)))
    else:
        never = None if problem else never_fires_problem(definition.schedule.cron, schedule_zone)
        if never:
            problems.append(Problem(field="schedule.cron", message=never))
    if not problem:
        try:  # a cron EventBridge cannot take (both day fields restricted) fails here, not when it is approved
            to_eventbridge(definition.schedule.cron)
        except BadRequest as exc:
            problems.append(Problem(field="schedule.cron", message=exc.message))
    try:
        validate_inputs(definition, definition.schedule.input, today=dt.date(2000, 1, 1))
    except InvalidDefinition as exc:
        problems += [
            Problem(field=f"schedule.input.{p['field']}", message=p["message"]) for p in exc.details.get("errors", [])
        ]
    return problems


def _raise(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        where = f"node {first.node!r}, " if first.node else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InvalidDefinition(
            f"Invalid workflow definition: {where}{first.field}: {first.message}{more}",
            details={"errors": [p.model_dump() for p in problems]},
        )


def validate_definition(raw: Any) -> WorkflowDefinition:
    """The definition, or InvalidDefinition whose details list every problem as {node, field, message}."""
    _raise(nesting_problems(raw))
    if len(json.dumps(raw, default=str)) > MAX_DOCUMENT_BYTES:
        _raise([Problem(field="(document)", message=f"larger than {MAX_DOCUMENT_BYTES // 1024} KiB")])
    _raise(_schema_problems(raw))
    definition = WorkflowDefinition.model_validate({**raw, "edges": _edges(raw)})
    _raise(_graph_problems(definition))
    _raise(_settings_problems(definition) + _schedule_problems(definition) + _default_problems(definition))
    return definition


def _default_problems(definition: WorkflowDefinition) -> list[Problem]:
    """Each input's default is a value of its type (a task would otherwise fail as it starts, or not at all)."""
    problems = []
    for name, spec in definition.inputs.items():
        if spec.default is None or (spec.type == "date" and spec.default in ("today", "yesterday")):
            continue
        try:
            _coerce(name, spec, spec.default, dt.date.today())
        except ValueError as exc:
            problems.append(Problem(field=f"inputs.{name}.default", message=str(exc)))
    return problems


def to_document(definition: WorkflowDefinition) -> dict[str, Any]:
    """The JSON a client sends and reads back (edges as {from, to, when})."""
    data = definition.model_dump(mode="json", exclude_none=True, exclude={"edges"})
    data["inputs"] = {
        k: v.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {"type": v.type}
        for k, v in definition.inputs.items()
    }
    data["edges"] = [
        {"from": e.source, "to": e.target, **({"when": e.when} if e.when is not None else {})} for e in definition.edges
    ]
    return data


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _coerce(name: str, spec: InputSpec, value: Any, today: dt.date) -> Any:
    if spec.type == "date":
        if value in ("today", "yesterday"):
            return (today - dt.timedelta(days=1 if value == "yesterday" else 0)).isoformat()
        # The shape first: fromisoformat also reads '20261120', '2026-W47-5' and, dropping its end, '2026112008'
        if not (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
            raise ValueError("expected a date YYYY-MM-DD, today or yesterday")
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise ValueError("expected a date YYYY-MM-DD, today or yesterday") from exc
    if spec.type == "timezone":
        from phi.workflows.timeframes import check_timezone

        return check_timezone(str(value)[:64]) if isinstance(value, str) else check_timezone("")
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected an integer")
        return _within_64_bits(value)
    if spec.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        return _within_64_bits(value) if isinstance(value, int) else value
    if not isinstance(value, str) or len(value) > 1000:
        raise ValueError("expected a string of at most 1000 characters")
    return value


def _within_64_bits(value: int) -> int:
    """A task's state holds integers of 64 bits (its checkpoints are MessagePack): a larger one is refused here,
    naming the input, rather than failing the task as it starts."""
    if value not in INT64:
        raise ValueError(f"expected an integer from {INT64.start:,} to {INT64.stop - 1:,}")
    return value


def validate_inputs(
    definition: WorkflowDefinition, raw: dict[str, Any], *, today: dt.date | None = None, resolve_relative: bool = False
) -> dict[str, Any]:
    """The task input a definition accepts: known names, right types, required ones present. Relative dates
    (today/yesterday) stay as written unless `resolve_relative` (done at run time, in the schedule's zone)."""
    nested = nesting_problems(raw)
    if nested:
        raise InvalidDefinition(
            f"Invalid input: {nested[0].field}: {nested[0].message}",
            details={"errors": [p.model_dump() for p in nested]},
        )
    problems = [
        Problem(field=name, message="is not an input of this workflow") for name in raw if name not in definition.inputs
    ]
    clean: dict[str, Any] = {}
    day = today or dt.date.today()
    for name, spec in definition.inputs.items():
        value = raw.get(name, spec.default)
        if value is None:
            if spec.required:
                problems.append(Problem(field=name, message="is required"))
            continue
        if spec.type == "date" and value in ("today", "yesterday") and not resolve_relative:
            clean[name] = value
            continue
        try:
            clean[name] = _coerce(name, spec, value, day)
        except ValueError as exc:
            problems.append(Problem(field=name, message=str(exc)))
            continue
        if spec.enum is not None and clean[name] not in spec.enum:
            problems.append(Problem(field=name, message=f"must be one of {spec.enum}"))
    if problems:
        raise InvalidDefinition(
            "Invalid input: " + "; ".join(f"{p.field}: {p.message}" for p in problems),
            details={"errors": [p.model_dump() for p in problems]},
        )
    return clean


def local_today(definition: WorkflowDefinition, now: dt.datetime) -> dt.date:
    """'today' for a run at `now`: in the schedule's time zone, else UTC."""
    from phi.workflows.timeframes import zone

    return now.astimezone(zone(definition.schedule.timezone) if definition.schedule else dt.UTC).date()


def checked_contract(function_name: str, datasets: dict[str, Any]) -> list[str]:
    return check_contract(COMPUTE[function_name], datasets)


def write_schema_file() -> None:
    SCHEMA_FILE.write_text(json.dumps(build_schema(), indent=2, sort_keys=False) + "\n")


if __name__ == "__main__":  # python -m phi.definitions.document: regenerate the kept schema file
    write_schema_file()


def task_input_for(task_type: str, raw: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """A task's validated input: against the agent's stored definition of that type when it has one (relative
    dates kept for run time), else against the built-in type's input model."""
    if stored is not None:
        return validate_inputs(WorkflowDefinition.model_validate({**stored, "edges": _edges(stored)}), raw)
    from phi.definitions.registry import validate_task_input

    return validate_task_input(task_type, raw)


def parse_stored(stored: dict[str, Any]) -> WorkflowDefinition:
    """A definition read back from the database (validated when it was stored; versions are immutable)."""
    return WorkflowDefinition.model_validate({**stored, "edges": _edges(stored)})


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Changes from `old` to `new` as {op: add | remove | replace, path (JSON pointer), old, new}; nodes are
    matched by id (so moving or inserting a node does not show as changing every node after it)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[dict[str, Any]] = []
        for key in [*old, *(k for k in new if k not in old)]:
            where = f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in new:
                changes.append({"op": "remove", "path": where, "old": old[key]})
            elif key not in old:
                changes.append({"op": "add", "path": where, "new": new[key]})
            else:
                changes += diff(old[key], new[key], where)
        return changes
    if isinstance(old, list) and isinstance(new, list) and path == "/nodes":
        by_id = lambda items: {n.get("id"): n for n in items if isinstance(n, dict)}  # noqa: E731
        return diff(by_id(old), by_id(new), path)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in diff(a, b, f"{path}/{i}")]
    if old != new:
        return [{"op": "replace", "path": path or "/", "old": old, "new": new}]
    return []
