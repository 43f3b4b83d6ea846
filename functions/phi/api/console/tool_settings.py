"""The console's form for an agent's tools: which tools it has, and each tool's settings as fields made from the
tool's JSON Schema (a text, a whole number, a list of addresses), so that nobody has to write JSON to change a row
limit. What a field cannot say simply (an object, a list of numbers) is a JSON text field. The form's values are
checked here field by field, so that every error is shown at its field; the schema itself is applied again when the
agent is saved (phi.services.catalog.validate_tool_config), which fills in the defaults of fields left empty."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal, cast

import fastjsonschema
from pydantic import BaseModel

from phi.domain.models import Tool
from phi.wording import capitalised, in_words

MAX_FIELD_CHARS = 4_000  # a list of e-mail recipients is the longest simple value
MAX_JSON_FIELD_CHARS = 16_000

FieldKind = Literal["text", "integer", "number", "list", "json"]


class ToolField(BaseModel):
    tool: str
    name: str  # the property's name in the tool's configuration
    label: str
    kind: FieldKind
    required: bool
    hint: str
    schema_: dict[str, Any]

    @property
    def form_name(self) -> str:
        """The input's name and id: `cfg-<tool>-<property>` (tool keys and property names are identifiers)."""
        return f"cfg-{self.tool}-{self.name}"


def _kind(schema: Mapping[str, Any]) -> FieldKind:
    kind = schema.get("type")
    if kind == "string":
        return "text"
    if kind in ("integer", "number"):
        return kind
    items = schema.get("items")
    if kind == "array" and isinstance(items, Mapping) and items.get("type") == "string":
        return "list"
    return "json"


def _hint(schema: Mapping[str, Any], kind: FieldKind) -> str:
    parts = [str(schema["description"]).rstrip(".")] if schema.get("description") else []
    if kind == "list":
        parts.append("separated by commas")
    if kind == "json":
        parts.append("as JSON")
    bounds = [
        f"{word} {schema[key]:,}" for word, key in (("at least", "minimum"), ("at most", "maximum")) if key in schema
    ]
    if bounds:
        parts.append(", ".join(bounds))
    if "default" in schema:
        parts.append(f"empty for the default, {_shown(schema['default'], kind)}")
    return capitalised("; ".join(parts))


def tool_fields(tool: Tool) -> list[ToolField]:
    """One field per property of the tool's configuration, in the schema's order."""
    properties = tool.config_schema.get("properties") or {}
    required = set(tool.config_schema.get("required") or [])
    fields = []
    for name, schema in properties.items():
        if not isinstance(schema, Mapping):
            continue
        kind = _kind(schema)
        fields.append(
            ToolField(
                tool=tool.key,
                name=name,
                label=capitalised(in_words(name)),
                kind=kind,
                required=name in required,
                hint=_hint(schema, kind),
                schema_=dict(schema),
            )
        )
    return fields


def _shown(value: Any, kind: FieldKind) -> str:
    if kind == "list" and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def field_values(tools: list[Tool], configs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each field's value as typed back into the form, from the agent's stored configurations."""
    values = {}
    for tool in tools:
        config = configs.get(tool.key) or {}
        for field in tool_fields(tool):
            if field.name in config:
                values[field.form_name] = _shown(config[field.name], field.kind)
    return values


def _parsed(field: ToolField, text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, the reason) said as a form says it."""
    schema = field.schema_
    limit = MAX_JSON_FIELD_CHARS if field.kind == "json" else MAX_FIELD_CHARS
    if len(text) > limit:
        return None, f"{field.label}: at most {limit:,} characters."
    if field.kind == "integer" or field.kind == "number":
        value = _whole_number(text) if field.kind == "integer" else _finite_number(text)
        if value is None:
            example = "a whole number, e.g. 100000" if field.kind == "integer" else "a number, e.g. 0.5"
            return None, f"{field.label}: enter {example}."
        if "minimum" in schema and value < schema["minimum"]:
            return None, f"{field.label}: at least {schema['minimum']:,}."
        if "maximum" in schema and value > schema["maximum"]:
            return None, f"{field.label}: at most {schema['maximum']:,}."
        return value, None
    if field.kind == "list":
        items = [item for item in re.split(r"[\s,;]+", text) if item]
        check = _item_check(json.dumps(schema.get("items") or {}, sort_keys=True))
        for item in items:
            try:
                check(item)
            except fastjsonschema.JsonSchemaValueException as exc:
                said = "an e-mail address" if exc.rule == "format" and exc.rule_definition == "email" else "valid here"
                return None, f"{field.label}: “{item[:80]}” is not {said}."
        return items, None
    if field.kind == "json":
        try:
            return json.loads(text), None
        except RecursionError:
            return None, f"{field.label}: nested too deeply."
        except json.JSONDecodeError as exc:
            return None, f"{field.label}: not valid JSON ({exc.msg} at character {exc.pos + 1})."
        except ValueError:  # Python's own limit on an integer's digits (4,300)
            return None, f"{field.label}: holds a number too long to read."
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not re.search(pattern, text):
        return None, f"{field.label}: {text[:80]!r} is not a valid value here."
    return text, None


# Digits, with thousands separators only in whole groups of three (a comma elsewhere may be a decimal comma).
_WHOLE_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:[,_]\d{3})+|\d{1,18})", re.ASCII)


def _whole_number(text: str) -> int | None:
    return int(text.replace(",", "").replace("_", "")) if _WHOLE_NUMBER.fullmatch(text) else None


def _finite_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@lru_cache(maxsize=32)
def _item_check(items_schema: str) -> Callable[[Any], Any]:
    return cast(Callable[[Any], Any], fastjsonschema.compile(json.loads(items_schema)))


def config_from_form(
    tool: Tool, form: Mapping[str, str], stored: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The tool's configuration from the form's fields (an empty field is left out: its default applies), and
    the errors by field name. A stored setting the form has no field for (a schema without properties) is kept."""
    fields = tool_fields(tool)
    shown = {field.name for field in fields}
    config: dict[str, Any] = {name: value for name, value in (stored or {}).items() if name not in shown}
    errors: dict[str, str] = {}
    for field in fields:
        text = (form.get(field.form_name) or "").strip()
        if not text:
            if field.required:
                errors[field.form_name] = f"{field.label}: needed with {tool.name}."
            continue
        value, problem = _parsed(field, text)
        if problem is not None:
            errors[field.form_name] = problem
        else:
            config[field.name] = value
    return config, errors
