"""The registry of node kinds: each kind's settings schema (JSON Schema) and which other nodes' results its
settings read (checked at validation: such a node must run before, on a path of edges)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phi.definitions.functions import COMPUTE, RENDER, SEARCHES

NODE_ID_PATTERN = "^[a-z][a-z0-9_]{0,62}$"
NODE_ID: dict[str, Any] = {"type": "string", "pattern": NODE_ID_PATTERN}
TEMPLATE_TEXT: dict[str, Any] = {"type": "string", "maxLength": 4000}
EXPRESSION: dict[str, Any] = {
    "description": 'A JSON Logic expression (see phi.definitions.expressions): {">": [{"var": "x"}, 1]}',
    "type": ["object", "array", "string", "number", "boolean", "null"],
}
# An approval waits at most this long: the whole execution is capped at 24 hours (phi.names).
MAX_APPROVAL_TIMEOUT_SECONDS = 23 * 3600
PARAM_VALUE: dict[str, Any] = {"type": ["string", "number", "integer", "boolean", "null"]}


@dataclass(frozen=True)
class NodeKind:
    name: str
    description: str
    settings: dict[str, Any]
    reads: Callable[[dict[str, Any]], list[tuple[str, str]]]  # (field, node id) the settings read


def _obj(required: list[str], properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties, **extra}


def _op(name: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {"op": {"const": name}}, "required": ["op"]},
        "then": _obj(["op", *required], {"op": {"const": name}, **properties}),
    }


COLUMNS = {"type": "array", "minItems": 1, "maxItems": 200, "items": {"type": "string", "minLength": 1}}
TABLE_OPS: dict[str, dict[str, Any]] = {
    "select": _op(
        "select",
        ["columns"],
        {"columns": COLUMNS, "rename": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}}},
    ),
    "filter": _op("filter", ["where"], {"where": EXPRESSION}),
    "derive": _op("derive", ["column", "expr"], {"column": {"type": "string", "minLength": 1}, "expr": EXPRESSION}),
    "sort": _op("sort", ["by"], {"by": COLUMNS, "descending": {"type": "boolean"}}),
    "top_k": _op(
        "top_k",
        ["k", "by"],
        {
            "k": {"type": "integer", "minimum": 1, "maximum": 10_000},
            "by": {"type": "string"},
            "descending": {"type": "boolean"},
        },
    ),
    "group_by": _op(
        "group_by",
        ["aggs"],
        {
            "keys": {"type": "array", "maxItems": 20, "items": {"type": "string"}},
            "aggs": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 50,
                "additionalProperties": _obj(
                    ["fn"],
                    {
                        "fn": {"enum": ["count", "count_distinct", "sum", "min", "max", "avg"]},
                        "column": {"type": "string"},
                    },
                    # Only count counts rows; every other aggregate reads a column (without one it was always null).
                    **{
                        "if": {
                            "properties": {"fn": {"enum": ["count_distinct", "sum", "min", "max", "avg"]}},
                            "required": ["fn"],
                        },
                        "then": {"required": ["column"]},
                    },
                ),
            },
        },
    ),
    "join": _op(
        "join",
        ["right", "on"],
        {
            "right": NODE_ID,
            "on": COLUMNS,
            "how": {"enum": ["inner", "left"]},
            "right_prefix": {"type": "string", "maxLength": 40},
        },
    ),
    "limit": _op("limit", ["n"], {"n": {"type": "integer", "minimum": 0, "maximum": 1_000_000}}),
}


def _reads_table(settings: dict[str, Any]) -> list[tuple[str, str]]:
    reads = [("input", settings["input"])] if "input" in settings else []
    for index, op in enumerate(settings.get("ops") or []):
        if isinstance(op, dict) and op.get("op") == "join" and "right" in op:
            reads.append((f"ops[{index}].right", op["right"]))
    return reads


def _reads_mapping(field: str) -> Callable[[dict[str, Any]], list[tuple[str, str]]]:
    def reads(settings: dict[str, Any]) -> list[tuple[str, str]]:
        value = settings.get(field) or {}
        if isinstance(value, dict):
            return [(f"{field}.{name}", node) for name, node in value.items() if isinstance(node, str)]
        return [(f"{field}[{i}]", node) for i, node in enumerate(value) if isinstance(node, str)]

    return reads


def _reads_nothing(settings: dict[str, Any]) -> list[tuple[str, str]]:
    return []


HTTPS_URL: dict[str, Any] = {
    "type": "string",
    "pattern": "^https://[^\\s]+$",
    "maxLength": 2000,
    "description": "https:// only; the host must be on the organisation's allow-list (GET/POST …/outbound-hosts)",
}
EMAIL_ADDRESS: dict[str, Any] = {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "maxLength": 254}
NOTIFY_SETTINGS = _obj(
    ["channel"],
    {
        "channel": {"enum": ["email", "webhook"]},
        "to": {"type": "array", "minItems": 1, "maxItems": 50, "items": EMAIL_ADDRESS},
        "subject": {**TEMPLATE_TEXT, "minLength": 1},
        "body": {**TEMPLATE_TEXT, "minLength": 1, "description": "a template over the inputs and results"},
        "url": HTTPS_URL,
        "payload": {
            "type": "object",
            "maxProperties": 50,
            "description": "the webhook's `data`: each string is a template ('{{ kpis.late }}' keeps its type)",
        },
        "on_error": {
            "enum": ["note", "fail"],
            "description": "a failed delivery adds a note to the report (default) or fails the task",
        },
    },
    allOf=[
        {
            "if": {"properties": {"channel": {"const": "email"}}},
            "then": {"required": ["to", "subject", "body"], "properties": {"url": False, "payload": False}},
        },
        {
            "if": {"properties": {"channel": {"const": "webhook"}}},
            "then": {"required": ["url"], "properties": {"to": False, "subject": False}},
        },
    ],
)
SQL_TEXT = {"type": "string", "minLength": 1, "maxLength": 200_000}
# The database names are SQLAlchemy's dialect names, which the local agent sees (it cannot be known here).
SQL_DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb", "mssql")
SQL_VARIANTS = {
    "type": "object",
    "minProperties": 1,
    "properties": {name: SQL_TEXT for name in SQL_DIALECTS},
    "additionalProperties": False,
    "description": (
        "db.query: SQL for one database, run instead of `sql` by an agent whose database it is (keys: "
        + ", ".join(SQL_DIALECTS)
        + "; mysql and mariadb stand in for each other); any other database runs `sql`"
    ),
}
HTTP_SETTINGS = _obj(
    ["url"],
    {
        "url": HTTPS_URL,
        "method": {"enum": ["GET", "POST"]},
        "query": {
            "type": "object",
            "maxProperties": 50,
            "additionalProperties": {"type": ["string", "number", "integer", "boolean"]},
            "description": "query parameters; strings are templates",
        },
        "body": {"type": "object", "maxProperties": 100, "description": "POST's JSON body; strings are templates"},
        "format": {"enum": ["json", "csv"], "description": "default json"},
        "rows": {
            "type": "string",
            "maxLength": 200,
            "pattern": "^[A-Za-z0-9_\\-]+(\\.[A-Za-z0-9_\\-]+)*$",
            "description": "JSON: dotted path to the list of records (default: the whole document)",
        },
        "max_rows": {"type": "integer", "minimum": 1, "maximum": 200_000},
        "max_bytes": {"type": "integer", "minimum": 1024, "maximum": 64 * 1024 * 1024},
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
    },
    allOf=[{"if": {"properties": {"method": {"const": "GET"}}}, "then": {"properties": {"body": False}}}],
)


KINDS: dict[str, NodeKind] = {
    k.name: k
    for k in (
        NodeKind(
            "local_tool",
            "Runs db.query (the customer's SQL, parameters bound) or file.read (CSV/Excel under the agent's "
            "folder) on the local agent; parameters and path are filled from the inputs by the sandboxed "
            "template engine, never spliced into the SQL",
            _obj(
                ["tool"],
                {
                    "tool": {"enum": ["db.query", "file.read"]},
                    "sql": SQL_TEXT,
                    "sql_variants": SQL_VARIANTS,
                    "params": {"type": "object", "maxProperties": 100, "additionalProperties": PARAM_VALUE},
                    "path": {"type": "string", "minLength": 1, "maxLength": 4096},
                    "sheet": {"type": "string", "maxLength": 200},
                    "columns": COLUMNS,
                    "max_rows": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                },
                allOf=[
                    {
                        "if": {"properties": {"tool": {"const": "db.query"}}},
                        "then": {"required": ["sql"], "properties": {"path": False, "sheet": False, "columns": False}},
                    },
                    {
                        "if": {"properties": {"tool": {"const": "file.read"}}},
                        "then": {
                            "required": ["path"],
                            "properties": {"sql": False, "sql_variants": False, "params": False},
                        },
                    },
                ],
            ),
            _reads_nothing,
        ),
        NodeKind(
            "table",
            "select, filter, derive, sort, top_k, group_by, join, limit on another node's table, in the cloud",
            _obj(
                ["input", "ops"],
                {
                    "input": NODE_ID,
                    "ops": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 50,
                        "items": {
                            "type": "object",
                            "required": ["op"],
                            "properties": {"op": {"enum": list(TABLE_OPS)}},
                            "allOf": list(TABLE_OPS.values()),
                        },
                    },
                },
            ),
            _reads_table,
        ),
        NodeKind(
            "compute",
            "A registered pure function over tables: "
            + "; ".join(
                f"{f.name} ({f.description}; datasets: "
                + ", ".join(f"{d}[{', '.join(cols) or 'any columns'}]" for d, cols in f.datasets.items())
                + ")"
                for f in COMPUTE.values()
            ),
            _obj(
                ["function"],
                {
                    "function": {"enum": list(COMPUTE)},
                    "inputs": {
                        "type": "object",
                        "minProperties": 1,
                        "maxProperties": 20,
                        "additionalProperties": NODE_ID,
                        "description": "dataset name → node id (none for a function of its args alone)",
                    },
                    "column_mapping": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": {"type": "string", "minLength": 1},
                        },
                        "description": "dataset → {contract column: your column}",
                    },
                    "args": {
                        "type": "object",
                        "additionalProperties": True,
                        "description": "function arguments; strings are templates",
                    },
                },
            ),
            _reads_mapping("inputs"),
        ),
        NodeKind(
            "search_docs",
            "Passages of the agent's and the organisation's documents (SOPs) nearest to a templated query; or a "
            "registered search strategy over results (args are templates): "
            + "; ".join(f"{name} ({description})" for name, description in SEARCHES.items()),
            _obj(
                [],
                {
                    "query": {**TEMPLATE_TEXT, "minLength": 1},
                    "top_k": {"type": "integer", "minimum": 1, "maximum": 20},
                    "min_score": {"type": "number", "minimum": 0, "maximum": 1},
                    "strategy": {"enum": list(SEARCHES)},
                    "args": {"type": "object", "maxProperties": 20, "description": "strategy arguments; templates"},
                },
                oneOf=[
                    {"required": ["query"], "not": {"required": ["strategy"]}},
                    {"required": ["strategy"], "not": {"required": ["query"]}},
                ],
            ),
            _reads_nothing,
        ),
        NodeKind(
            "llm",
            "A model call for the purpose named (analysis, classification); the prompt is a template that can "
            "name other results; skipped with a visible note when no LLM is configured. Numbers are computed "
            "by other nodes, never by the model",
            _obj(
                ["prompt"],
                {
                    "purpose": {"enum": ["analysis", "classification"]},
                    "system": TEMPLATE_TEXT,
                    "prompt": {**TEMPLATE_TEXT, "minLength": 1},
                    "context": {
                        "type": "array",
                        "maxItems": 20,
                        "items": NODE_ID,
                        "description": "results given to the model as JSON",
                    },
                },
            ),
            _reads_mapping("context"),
        ),
        NodeKind(
            "render",
            "Markdown from a registered template: " + "; ".join(f"{t.name} ({t.description})" for t in RENDER.values()),
            _obj(
                ["template"],
                {
                    "template": {"enum": list(RENDER)},
                    "title": TEMPLATE_TEXT,
                    "sections": {
                        "type": "array",
                        "maxItems": 50,
                        "items": NODE_ID,
                        "description": "results shown, in order (default: all so far)",
                    },
                    "names": {
                        "type": "object",
                        "additionalProperties": NODE_ID,
                        "description": "template's name → node id",
                    },
                    "args": {
                        "type": "object",
                        "maxProperties": 20,
                        "description": "extra values for the template (templates), given to it as the result 'args'",
                    },
                },
            ),
            lambda s: _reads_mapping("sections")(s) + _reads_mapping("names")(s),
        ),
        NodeKind(
            "notify",
            "Email (Amazon SES on AWS; the captured outbox on the embedded stack) or a webhook (HTTPS POST to an "
            "allow-listed host, signed with the organisation's secret); subject, body and payload are templates. "
            "Send only when something holds by putting a `when` on the edge into it",
            NOTIFY_SETTINGS,
            _reads_nothing,
        ),
        NodeKind(
            "http",
            "GET or POST to an allow-listed HTTPS host; the JSON (records at `rows`) or CSV answer becomes a table. "
            "No redirects, private addresses refused, bounded time and size",
            HTTP_SETTINGS,
            _reads_nothing,
        ),
        NodeKind(
            "approval",
            "Pauses the task until a person approves or rejects (Step Functions' task-token pattern): title and "
            "summary are templates over the inputs and results; approvers are roles (default OWNER, ADMIN) or "
            "named members; on rejection the task fails, or goes on with the decision as the node's result "
            "(on_reject: continue); on timeout it fails, or the node is skipped with the nodes that need it "
            "(on_timeout: skip). Its result: {decision, decided_by, decided_at, comment}",
            _obj(
                ["timeout_seconds"],
                {
                    "title": {**TEMPLATE_TEXT, "maxLength": 300},
                    "summary": TEMPLATE_TEXT,
                    "approvers": _obj(
                        [],
                        {
                            "roles": {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": 3,
                                "uniqueItems": True,
                                "items": {"enum": ["OWNER", "ADMIN", "MEMBER"]},
                            },
                            "emails": {
                                "type": "array",
                                "maxItems": 50,
                                "items": {
                                    "type": "string",
                                    "minLength": 3,
                                    "maxLength": 320,
                                    "pattern": "^[^@\\s]+@[^@\\s]+$",
                                },
                            },
                        },
                    ),
                    "timeout_seconds": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_APPROVAL_TIMEOUT_SECONDS,
                        "description": "how long the task waits for a decision (below the task's 24-hour limit)",
                    },
                    "on_timeout": {"enum": ["fail", "skip"], "default": "fail"},
                    "on_reject": {"enum": ["fail", "continue"], "default": "fail"},
                },
            ),
            _reads_nothing,
        ),
        NodeKind(
            "condition",
            "Evaluates an expression over the inputs and results; its result {value} steers edges' `when`",
            _obj(["expression"], {"expression": EXPRESSION}),
            _reads_nothing,
        ),
    )
}
