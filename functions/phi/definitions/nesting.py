"""How deep a nested value goes and how long it prints, measured by walking it without recursion.

Libraries that recurse into a value (copy.deepcopy, json, jsonschema, jsonpatch, repr) fail with a
RecursionError on JSON nested a few hundred levels deep, which a 3 KB request body can hold; and a value built
of shared references (a list holding the same list twice, nested) prints exponentially longer than it is
in memory. So nested JSON from a user or a model is measured here first, and so is every value a template
builds (phi.definitions.templating). The walk stops as soon as a limit is passed: it costs no more than the
limit, whatever the value."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

# The one nesting limit: an expression's operations (phi.definitions.expressions), a template's nested calls
# (macros), and, counted in JSON levels below, any nested JSON given in a definition, pipeline, input or patch.
MAX_DEPTH = 32
# JSON levels: room for an expression at its deepest (two levels per operation: the object and its argument
# list) inside a definition (a few levels to reach it, e.g. nodes[0].settings.ops[0].where).
MAX_JSON_DEPTH = 3 * MAX_DEPTH
_SHOWN_PATH_PARTS = 8


class TooLarge(ValueError):
    """A value nested deeper or printing longer than allowed; `where` is the path to the place (a.b[2].c)."""

    def __init__(self, message: str, where: str, *, too_deep: bool) -> None:
        super().__init__(message)
        self.where, self.too_deep = where, too_deep


class NotFinite(ValueError):
    """NaN or ±Infinity, which Python's JSON parser reads but JSON (and a jsonb column) cannot hold: stored, it
    would become null and change what the value means. `where` is the path to it."""

    def __init__(self, where: str) -> None:
        super().__init__("NaN and Infinity are not JSON numbers; give a finite number")
        self.where = where


def number_chars(value: int | float | Decimal) -> int:
    """An upper bound on the characters a number prints as, without printing it (a huge int or a Decimal with a
    big exponent would take time and memory to print)."""
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 2  # log10(2) < 0.302
    if isinstance(value, Decimal):
        if not value.is_finite():
            return 9
        return abs(value.adjusted()) + len(value.as_tuple().digits) + 3
    return 24


def joined(where: str, path: str) -> str:
    """A path below `where`: input + date.a → input.date.a, nodes + [0].id → nodes[0].id."""
    if not where or not path:
        return where or path
    return where + path if path.startswith("[") else f"{where}.{path}"


def _path(link: tuple[Any, Any] | None) -> str:
    parts: list[Any] = []
    while link is not None:
        key, link = link
        parts.append(key)
    parts.reverse()
    text = ""
    for part in parts[:_SHOWN_PATH_PARTS]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text + ("…" if len(parts) > _SHOWN_PATH_PARTS else "")


def measure(
    value: Any,
    max_chars: int,
    *,
    max_depth: int | None = MAX_JSON_DEPTH,
    expand: Callable[[Any], Any] | None = None,
    indent: int = 0,
    finite: bool = False,
) -> int:
    """About how many characters `value` prints as in JSON (strings, numbers, mappings, lists, tuples, sets;
    `expand` may map another object to what it holds), each item on a line of its own indented by `indent`
    spaces per level when `indent` is given. Raises TooLarge naming the place when the value nests
    deeper than `max_depth` containers or prints longer than `max_chars`; with `finite`, NotFinite naming the
    place of a NaN or an Infinity."""
    size = 0

    def grow(chars: int, link: tuple[Any, Any] | None) -> None:
        nonlocal size
        size += chars
        if size > max_chars:
            raise TooLarge(f"longer than {max_chars:,} characters", _path(link), too_deep=False)

    # One iterator per open container, not one entry per item: the walk's memory follows the depth only.
    stack: list[tuple[Iterator[tuple[Any, Any]], int, tuple[Any, Any] | None]] = [(iter([(None, value)]), -1, None)]
    while stack:
        items, depth, link = stack[-1]
        pair = next(items, None)
        if pair is None:
            stack.pop()
            continue
        key, item = pair
        here = link if depth < 0 else (key, link)
        if depth >= 0:
            grow((len(key) + 4 if isinstance(key, str) else 2) + (indent * (depth + 1) + 1 if indent else 0), link)
        if isinstance(item, str | bytes | bytearray):
            grow(len(item) + 2, here)
            continue
        if item is None or isinstance(item, int | float | Decimal):
            if finite and isinstance(item, float | Decimal) and not math.isfinite(item):
                raise NotFinite(_path(here))
            grow(number_chars(item) if item is not None else 4, here)
            continue
        if expand is not None and not isinstance(item, Mapping | list | tuple | set | frozenset):
            item = expand(item)
        if isinstance(item, Mapping | list | tuple | set | frozenset):
            if max_depth is not None and depth + 1 >= max_depth:
                raise TooLarge(f"nested deeper than {max_depth} levels", _path(here), too_deep=True)
            grow(2, here)
            stack.append((iter(item.items() if isinstance(item, Mapping) else enumerate(item)), depth + 1, here))
            continue
        grow(32, here)  # any other object prints briefly (a date, a range, a function)
    return size
