"""Tool configuration checked against each tool's JSON Schema from the catalog.

fastjsonschema rather than jsonschema: it imports in ~6 ms against ~100 ms, which the API Lambda pays on
every cold start, and it fills the schema's defaults in."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import fastjsonschema

from phi.definitions.nesting import NotFinite, TooLarge, measure
from phi.domain.models import Tool
from phi.errors import BadRequest


class InvalidToolConfig(BadRequest):
    code = "invalid_tool_config"


class ToolUnavailable(BadRequest):
    code = "tool_unavailable"


# A tool's settings: a URL variable, limits, a folder, recipients. Far below this.
MAX_TOOL_CONFIG_CHARS = 64 * 1024


@lru_cache(maxsize=64)
def _compiled(schema_json: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(json.loads(schema_json), use_default=True)


def validate_tool_config(tool: Tool, config: dict[str, Any]) -> dict[str, Any]:
    """The configuration with the schema's defaults filled in; a clear error naming the field otherwise."""
    if not tool.available:
        raise ToolUnavailable(f"The tool {tool.key!r} is not available yet.", details={"tool": tool.key})
    validator = _compiled(json.dumps(tool.config_schema, sort_keys=True))
    try:  # before the copy and the validator, which recurse (a few hundred levels raise RecursionError)
        measure(config, MAX_TOOL_CONFIG_CHARS, finite=True)
    except (TooLarge, NotFinite) as exc:
        raise InvalidToolConfig(
            f"Invalid configuration for tool {tool.key!r}: {exc} (at {exc.where or 'the top'})",
            details={"tool": tool.key, "field": exc.where, "message": str(exc)},
        ) from None
    try:
        checked = validator(copy.deepcopy(config))
    except fastjsonschema.JsonSchemaValueException as exc:
        field = ".".join(str(p) for p in exc.path[1:]) if exc.path else ""
        message = exc.message.replace("data", tool.key, 1)
        raise InvalidToolConfig(
            f"Invalid configuration for tool {tool.key!r}: {message}",
            details={"tool": tool.key, "field": field, "message": message},
        ) from exc
    except fastjsonschema.JsonSchemaException as exc:
        raise InvalidToolConfig(
            f"Invalid configuration for tool {tool.key!r}: {exc}", details={"tool": tool.key}
        ) from exc
    return dict(checked)
