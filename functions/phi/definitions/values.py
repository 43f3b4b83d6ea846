"""Values as the table ops and expressions read them, whatever type they arrived as: a CSV cell (file.read, an
http node's CSV) is always text, so "1,234.5" must count as the number it says and an empty cell as no value.

- `number_in_text`: a text that is a plain number, as that number;
- `is_blank`: an empty or blank text, which the aggregates and orders take as null."""

from __future__ import annotations

import re
from typing import Any

# A plain number: optional sign, digits (thousands separators only in whole 3-digit groups: "1,234,567.5", never
# "1,23"), optional decimals, optional exponent. Not "nan" or "inf" (no value JSON could hold), not "0x1F".
_PLAIN_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# Digits an integer text may have to be read as an exact integer (Python refuses 4,300); longer is a float.
_MOST_INTEGER_DIGITS = 400


def number_in_text(text: str) -> int | float | None:
    """The number `text` writes (surrounding spaces allowed): an integer exactly (an ID or a NUMERIC(38) kept
    as its digits stays exact), else a float; None when it is not a plain number."""
    plain = text.strip()
    if not plain or not _PLAIN_NUMBER.fullmatch(plain):
        return None
    plain = plain.replace(",", "")
    if "." in plain or "e" in plain or "E" in plain or len(plain) > _MOST_INTEGER_DIGITS:
        return float(plain)
    return int(plain)


def as_number(value: Any) -> int | float | None:
    """A number, or a text that is a plain number, as a number; None for anything else (booleans included:
    JSON tells them from numbers)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return number_in_text(value)
    return None


def is_blank(value: Any) -> bool:
    """An empty or blank text: a CSV's empty cell, no value."""
    return isinstance(value, str) and not value.strip()
