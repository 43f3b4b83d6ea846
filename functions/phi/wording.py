"""Codes said in words, the same way wherever people read them (reports, the console)."""

from __future__ import annotations


def in_words(code: str) -> str:
    """'missed_pickup' → 'missed pickup': underscores as spaces, each run of blanks as one, the ends trimmed."""
    return " ".join(code.replace("_", " ").split())


def capitalised(text: str) -> str:
    """The first letter upper-case, the rest as it is ('days overdue' → 'Days overdue')."""
    return text[:1].upper() + text[1:]
