"""Changes to a workflow definition as RFC 6902 JSON Patch (DESIGN §9, the patch lane), and the checks a
definition made by a person or a model must pass beyond the schema: tools the agent has, e-mail only to the
recipients of its email tool, and a structural review whose findings are warnings (nodes that can never run,
results nobody uses).

A patch is applied to a copy, all or nothing; the result is validated like any definition. Every refusal is a
sentence naming the operation or the node."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

from phi.definitions.document import (
    Problem,
    WorkflowDefinition,
    diff,
    nesting_problems,
    to_document,
    validate_definition,
)
from phi.domain.recipients import EmailRecipients
from phi.errors import InvalidDefinition

MAX_PATCH_OPERATIONS = 100
OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


class PatchRefused(InvalidDefinition):
    """A patch that cannot be applied, or whose result does not validate; details["errors"] lists why."""

    code = "invalid_patch"


def _describe(index: int, operation: Any) -> str:
    if isinstance(operation, dict):
        return f"operation {index + 1} ({operation.get('op')} {operation.get('path')})"
    return f"operation {index + 1}"


def _check_shape(patch: Any) -> list[dict[str, Any]]:
    if not isinstance(patch, list) or not patch:
        raise PatchRefused("A JSON Patch is a non-empty list of operations (RFC 6902).")
    if len(patch) > MAX_PATCH_OPERATIONS:
        raise PatchRefused(f"The patch has {len(patch)} operations; at most {MAX_PATCH_OPERATIONS} are accepted.")
    for index, operation in enumerate(patch):
        where = _describe(index, operation)
        if not isinstance(operation, dict):
            raise PatchRefused(f"{where.capitalize()} is not an object {{op, path, …}}.")
        if operation.get("op") not in OPERATIONS:
            raise PatchRefused(f"{where.capitalize()}: op must be one of {', '.join(OPERATIONS)}.")
        if not isinstance(operation.get("path"), str):
            raise PatchRefused(f"{where.capitalize()}: path must be a JSON pointer such as /nodes/0/settings/sql.")
        if operation["op"] in ("add", "replace", "test") and "value" not in operation:
            raise PatchRefused(f"{where.capitalize()}: {operation['op']} needs a value.")
        if operation["op"] in ("move", "copy") and not isinstance(operation.get("from"), str):
            raise PatchRefused(f"{where.capitalize()}: {operation['op']} needs from (a JSON pointer).")
        _refuse_nesting(operation.get("value"), f"{where.capitalize()}: its value", f"patch[{index}].value")
    return patch


def _refuse_nesting(value: Any, what: str, where: str) -> None:
    """Before jsonpatch (and copy.deepcopy) recurse into a value: see document.nesting_problems."""
    problems = nesting_problems(value, where)
    if problems:
        place = f" (at {problems[0].field})" if problems[0].field != (where or "(document)") else ""
        raise PatchRefused(
            f"{what} is {problems[0].message}{place}.",
            details={"errors": [p.model_dump() for p in problems]},
        )


def apply_patch(document: dict[str, Any], patch: Any) -> dict[str, Any]:
    """The patched copy of `document`; `document` itself is never touched. Operations apply in order and all
    or none: the first that cannot apply refuses the whole patch, naming it."""
    import jsonpatch
    import jsonpointer

    operations = _check_shape(patch)
    result: Any = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        try:
            result = jsonpatch.JsonPatch([operation]).apply(result, in_place=True)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise PatchRefused(f"{_describe(index, operation).capitalize()}: the test failed ({exc}).") from exc
        except (jsonpatch.JsonPatchConflict, jsonpointer.JsonPointerException, jsonpatch.InvalidJsonPatch) as exc:
            raise PatchRefused(
                f"{_describe(index, operation).capitalize()} does not apply to the current definition: {exc}. "
                "Paths are JSON pointers into the definition as GET …/workflows/{key} returns it; nodes and "
                "edges are addressed by their index (/nodes/2), '-' appends."
            ) from exc
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise PatchRefused(f"{_describe(index, operation).capitalize()} cannot apply: {exc}.") from exc
        # copy and move nest what is there deeper, or twice: measured after each operation, before the next
        _refuse_nesting(result, f"After {_describe(index, operation)}, the definition", "")
    if not isinstance(result, dict):
        raise PatchRefused("The patch replaces the whole definition with something that is not an object.")
    return result


class AgentScope(BaseModel):
    """What the agent's owner gave it, which a definition for the agent must stay within."""

    operations: frozenset[str] = Field(description="Its tools' operations, e.g. db.query, file.read")
    email: EmailRecipients = Field(default_factory=EmailRecipients, description="Who it may e-mail")


def tool_problems(definition: WorkflowDefinition, allowed_tools: Iterable[str]) -> list[Problem]:
    """Local tools the agent does not have (its tools' operations, e.g. db.query, file.read)."""
    allowed = set(allowed_tools)
    problems = []
    for index, node in enumerate(definition.nodes):
        tool = node.settings.get("tool") if node.kind == "local_tool" else None
        if tool is not None and tool not in allowed:
            have = ", ".join(sorted(allowed)) or "none"
            problems.append(
                Problem(
                    node=node.id,
                    field=f"nodes[{index}].settings.tool",
                    message=f"the agent has no tool {tool!r} (its tools: {have})",
                )
            )
    return problems


def email_problems(definition: WorkflowDefinition, recipients: EmailRecipients) -> list[Problem]:
    """E-mail notify nodes writing to an address the agent's email tool does not list (or with no email tool)."""
    problems = []
    for index, node in enumerate(definition.nodes):
        if node.kind != "notify" or node.settings.get("channel") != "email":
            continue
        refusal = recipients.refusal(node.settings.get("to") or [])
        if refusal is not None:
            problems.append(Problem(node=node.id, field=f"nodes[{index}].settings.to", message=refusal))
    return problems


def outbound_side_effects(definition: WorkflowDefinition) -> list[Problem]:
    """Nodes that act outside the platform with content the definition's author chooses, beyond e-mail to the
    configured recipients: webhooks (signed with the organisation's secret) and `http` POSTs."""
    found = []
    for index, node in enumerate(definition.nodes):
        if node.kind == "notify" and node.settings.get("channel") == "webhook":
            found.append(
                Problem(
                    node=node.id,
                    field=f"nodes[{index}].settings.channel",
                    message="sends a webhook signed with the organisation's secret",
                )
            )
        elif node.kind == "http" and node.settings.get("method", "GET") == "POST":
            found.append(
                Problem(
                    node=node.id,
                    field=f"nodes[{index}].settings.method",
                    message=f"POSTs to {node.settings.get('url')}",
                )
            )
    return found


def refuse_problems(problems: list[Problem]) -> None:
    """InvalidDefinition naming the first problem, all of them in details["errors"]; nothing when none."""
    if problems:
        first = problems[0]
        raise InvalidDefinition(
            f"Invalid workflow definition: node {first.node!r}, {first.field}: {first.message}",
            details={"errors": [p.model_dump() for p in problems]},
        )


def _constant_false(expression: Any) -> bool:
    return expression is False or expression == 0 or expression == "" or expression == []


def structural_warnings(definition: WorkflowDefinition) -> list[Problem]:
    """What validates but is probably a mistake: a node no edge can ever activate (every incoming edge's `when`
    is a constant false), and a node whose result no later node reads and that is not the output."""
    warnings: list[Problem] = []
    index = {n.id: i for i, n in enumerate(definition.nodes)}
    incoming: dict[str, list[Any]] = {n.id: [] for n in definition.nodes}
    outgoing: dict[str, int] = {n.id: 0 for n in definition.nodes}
    for edge in definition.edges:
        incoming.setdefault(edge.target, []).append(edge.when)
        outgoing[edge.source] = outgoing.get(edge.source, 0) + 1
    order = definition.order()
    output = definition.output or next(
        (n for n in reversed(order) if definition.nodes[index[n]].kind == "render"), order[-1] if order else None
    )
    for node in definition.nodes:
        where = f"nodes[{index[node.id]}]"
        whens = incoming.get(node.id) or []
        if whens and all(_constant_false(w) for w in whens):
            warnings.append(Problem(node=node.id, field=where, message="is unreachable: every edge into it is false"))
        elif not outgoing.get(node.id) and node.id != output and node.kind not in ("render", "llm"):
            warnings.append(
                Problem(
                    node=node.id,
                    field=where,
                    message="its result is used by no later node and it is not the output",
                )
            )
    return warnings


def validate_for_agent(raw: Any, scope: AgentScope) -> tuple[WorkflowDefinition, list[Problem]]:
    """A definition as the agent could run it: schema, graph, settings, then the agent's tools and the
    recipients of its email tool. Returns the definition and the structural warnings."""
    definition = validate_definition(raw)
    refuse_problems(tool_problems(definition, scope.operations) + email_problems(definition, scope.email))
    return definition, structural_warnings(definition)


def _node_label(document: dict[str, Any], node_id: str) -> str:
    node = next((n for n in document.get("nodes") or [] if isinstance(n, dict) and n.get("id") == node_id), None)
    return f"{node_id} ({node.get('kind')})" if node else node_id


def _edges(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["from"], e["to"]) for e in document.get("edges") or [] if isinstance(e, dict)}


def _conditions(document: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Each pair of nodes' edge conditions (a stored definition made before duplicate edges were refused may
    hold two edges between the same nodes: one more, or one fewer, changes when the target runs)."""
    conditions: dict[tuple[str, str], list[str]] = {}
    for edge in document.get("edges") or []:
        if isinstance(edge, dict):
            when = json.dumps(edge.get("when"), sort_keys=True)
            conditions.setdefault((edge["from"], edge["to"]), []).append(when)
    return {pair: sorted(whens) for pair, whens in conditions.items()}


def summarise(old: dict[str, Any], new: dict[str, Any]) -> str:
    """A plain-language summary of what changes from `old` to `new` (both stored documents)."""
    sentences: list[str] = []
    old_nodes = {n["id"]: n for n in old.get("nodes") or []}
    new_nodes = {n["id"]: n for n in new.get("nodes") or []}
    added = [n for n in new_nodes if n not in old_nodes]
    removed = [n for n in old_nodes if n not in new_nodes]
    if added:
        sentences.append("Adds " + ", ".join(_node_label(new, n) for n in added))
    if removed:
        sentences.append("Removes " + ", ".join(_node_label(old, n) for n in removed))
    for node_id in (n for n in new_nodes if n in old_nodes):
        changed = sorted(
            {".".join(c["path"].split("/")[2:4]) for c in diff(old_nodes[node_id], new_nodes[node_id], "/x")}
        )
        if changed:
            sentences.append(f"Changes {', '.join(changed)} of node {node_id}")
    new_edges, old_edges = _edges(new), _edges(old)
    if new_edges - old_edges:
        sentences.append("Connects " + ", ".join(f"{a} → {b}" for a, b in sorted(new_edges - old_edges)))
    if old_edges - new_edges:
        sentences.append("Disconnects " + ", ".join(f"{a} → {b}" for a, b in sorted(old_edges - new_edges)))
    old_when, new_when = _conditions(old), _conditions(new)
    rewired = sorted(edge for edge in old_edges & new_edges if old_when[edge] != new_when[edge])
    if rewired:  # said whatever else changes: a condition decides what runs
        sentences.append("Changes the condition on " + ", ".join(f"{a} → {b}" for a, b in rewired))
    for key in ("schedule", "inputs", "output", "name", "description"):
        if old.get(key) != new.get(key):
            if key == "schedule" and new.get("schedule") and old.get("schedule"):
                before, after = old["schedule"].get("cron"), new["schedule"].get("cron")
                sentences.append(
                    f"Changes the schedule ({before} → {after})" if before != after else "Changes the schedule"
                )
            elif key not in old:
                sentences.append(f"Sets the {key}")
            elif key not in new:
                sentences.append(f"Removes the {key}")
            else:
                sentences.append(f"Changes the {key}")
    if not sentences and old.get("edges") != new.get("edges"):
        sentences.append("Reorders the edges")
    return (". ".join(sentences) + ".") if sentences else "No change."


def patched_definition(
    current: dict[str, Any], patch: Any, scope: AgentScope
) -> tuple[dict[str, Any], list[Problem], list[dict[str, Any]], str]:
    """Applies `patch` to a copy of `current` and validates the result for the agent: (the new stored document,
    warnings, changes as {op, path, old, new}, summary). Refuses a patch that changes nothing."""
    raw = apply_patch(current, patch)
    try:
        definition, warnings = validate_for_agent(raw, scope)
    except InvalidDefinition as exc:
        raise PatchRefused(
            "The patched workflow would not be valid: " + exc.message.removeprefix("Invalid workflow definition: "),
            details=exc.details,
        ) from exc
    if definition.key != current.get("key"):
        raise PatchRefused("A patch cannot change the workflow's key (it is the task type its runs are filed under).")
    document = to_document(definition)
    changes = diff(current, document)
    if not changes:
        raise PatchRefused("The patch changes nothing in the current definition.")
    return document, warnings, changes, summarise(current, document)
