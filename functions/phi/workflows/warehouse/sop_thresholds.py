"""Reading a KPI threshold out of the SOP passage that states it (when the agent's config names the SOP).

Each supported threshold has a search topic (to find the passage), the unit its value must carry, and the
words that make a sentence about it. A value is a number (digits, with thousands commas or a decimal point,
or a number word up to twenty and the tens) followed by its unit in a common phrasing:
- a percentage: "5%", "4.5 %", "more than 4 percent", "four per cent", "2 pct";
- a pick rate: "110 lines per labour hour", "10 order lines per hour", "110 picks an hour", "110 lines/h",
  "110 per hour", "110 LPH";
- hours: "24 hours", "a 24-hour limit", "48 h", "2 days" (48 hours);
- orders: "1,250 orders", "200 open orders", or a bare number after a limit phrase ("must not exceed 200")
  in a sentence about open orders or the backlog;
- a share of the median hour: "below half of", "a third", "40%".
The sentence that holds it (with its passage's heading) must speak of the threshold's subject, so a 50% about
the hourly dip is never read as a late-rate limit. An on-time target ("at least 96% on time") is read as the
complementary late-rate limit (4%). Deterministic on purpose: a threshold that drives an anomaly must not be
an LLM's guess; when nothing can be read the report says so and names the configured limit it used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

MAX_PASSAGE_CHARS = 20_000

_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a hundred": 100, "one hundred": 100,
}  # fmt: skip
_SHARES = {"half": 0.5, "a half": 0.5, "one half": 0.5, "a third": 1 / 3, "one third": 1 / 3,
           "two thirds": 2 / 3, "a quarter": 0.25, "one quarter": 0.25, "three quarters": 0.75}  # fmt: skip
_WORD_ALTERNATION = "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True))
# Not preceded by a digit, point or comma: '4,5 %' (a decimal comma) is refused rather than read as 5%.
NUMBER = rf"(?<![\d.,])(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\b(?:{_WORD_ALTERNATION})\b)(?![.,]?\d)"
_LIMIT_PHRASE = (
    r"(?:must\s+not\s+exceed|may\s+not\s+exceed|not\s+exceed|exceeds?|exceeding|no\s+more\s+than|not\s+more\s+than|"
    r"more\s+than|at\s+most|up\s+to|maximum\s+(?:of\s+)?|max\.?\s+|limit\s+(?:of\s+|is\s+)?|above|over|"
    r"greater\s+than|beyond|at\s+or\s+below|below|under|fewer\s+than|less\s+than|at\s+least|minimum\s+(?:of\s+)?)"
)

PERCENT = re.compile(NUMBER + r"\s*(?:%|per\s*cent\b|percent\b|pct\b)", re.IGNORECASE)
PICK_RATE = re.compile(
    NUMBER
    + r"\s*(?:(?:order\s+)?(?:lines?|picks?)\s*)?(?:(?:per|an?|each|every)\s+|/\s*)"
    + r"(?:(?:labou?r|working|productive|picking|man)[\s-]+)?(?:hours?|hrs?|h)\b"
    + r"|"
    + NUMBER.replace("?P<num>", "?P<num2>")
    + r"\s*(?:lph|lines/h)\b",
    re.IGNORECASE,
)
HOURS = re.compile(NUMBER + r"\s*(?:-\s*)?(?P<unit>hours?|hrs?|h|days?)\b(?!\s*/)", re.IGNORECASE)
ORDERS = re.compile(
    NUMBER + r"\s*(?:open\s+|unshipped\s+|outstanding\s+|pending\s+|customer\s+)*orders?\b"
    r"|" + _LIMIT_PHRASE + r"\s*" + NUMBER.replace("?P<num>", "?P<num2>") + r"(?!\s*(?:%|[\w/-]))",
    re.IGNORECASE,
)
SHARE = re.compile(
    r"(?P<share>" + "|".join(sorted(map(re.escape, _SHARES), key=len, reverse=True)) + r")\s+(?:of\s+)?(?:the\s+)?"
    r"|" + PERCENT.pattern.replace("?P<num>", "?P<num2>"),
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+(?=[A-Z0-9(\"'])|\n+")


def _number(text: str) -> float:
    word = text.lower().strip()
    return float(_WORDS[word]) if word in _WORDS else float(text.replace(",", ""))


def _group(match: re.Match[str], *names: str) -> str:
    return next(value for name in names if (value := match.groupdict().get(name)))


def _percent(match: re.Match[str]) -> float:
    return _number(_group(match, "num", "num2")) / 100


def _plain(match: re.Match[str]) -> float:
    return _number(_group(match, "num", "num2"))


def _hours(match: re.Match[str]) -> float:
    value = _number(match["num"])
    return value * 24 if match["unit"].lower().startswith("day") else value


def _share(match: re.Match[str]) -> float:
    if match.groupdict().get("share"):
        return _SHARES[" ".join(match["share"].lower().split())]
    return _percent(match)


@dataclass(frozen=True)
class ThresholdReader:
    topic: str  # what to search the SOPs for
    pattern: re.Pattern[str]  # a value with its unit
    convert: Callable[[re.Match[str]], float]
    about: re.Pattern[str]  # a sentence (or its heading) that speaks of this threshold
    complement: re.Pattern[str] | None = None  # a sentence stating the opposite share (on time vs late)


READERS: dict[str, ThresholdReader] = {
    "max_late_rate": ThresholdReader(
        "maximum share of late shipments of the orders due in a day",
        PERCENT,
        _percent,
        re.compile(r"\blate\b|lateness|\bdelay|on[\s-]time|after\s+(?:its|their|the)\s+promise", re.IGNORECASE),
        re.compile(r"on[\s-]time", re.IGNORECASE),
    ),
    "max_backlog_orders": ThresholdReader(
        "limit on open orders at the end of the day",
        ORDERS,
        _plain,
        re.compile(r"backlog|open\s+orders?|unshipped|outstanding|orders?\s+(?:still\s+)?open", re.IGNORECASE),
    ),
    "max_backlog_age_hours": ThresholdReader(
        "maximum age in hours of the oldest open order",
        HOURS,
        _hours,
        re.compile(r"\bolder\b|\boldest\b|\bage\b|\bold\b|waiting|backlog|open\s+order", re.IGNORECASE),
    ),
    "min_picker_lines_per_hour": ThresholdReader(
        "minimum pick rate per picker in order lines per hour",
        PICK_RATE,
        _plain,
        re.compile(
            r"\bpickers?\b|operatives?|associates?|pick\s+rate|productivity|labou?r\s+hour|per\s+person", re.IGNORECASE
        ),
    ),
    "min_hourly_pick_ratio": ThresholdReader(
        "an hour's picks falling below a share of the day's median hour",
        SHARE,
        _share,
        re.compile(r"median|average\s+hour|typical\s+hour|hourly|in\s+an\s+hour|per\s+hour", re.IGNORECASE),
    ),
}


def _sentences(passage: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(passage) if part and part.strip()]


# A value stated as a limit: right after one of these words ('at or below 5%', 'older than 24 hours').
_STATED_AS_LIMIT = re.compile(
    r"(?:" + _LIMIT_PHRASE + r"|older\s+than|longer\s+than|at\s+or\s+above|target\s+(?:of\s+|is\s+)?)"
    r"\s*(?:the\s+|an?\s+)?$",
    re.IGNORECASE,
)


def _stated_as_limit(sentence: str, match: re.Match[str]) -> bool:
    before = sentence[max(0, match.start() - 60) : match.start()]
    return bool(_STATED_AS_LIMIT.search(before) or re.match(_LIMIT_PHRASE, match.group(0), re.IGNORECASE))


def read_threshold(field: str, passage: str, heading: str | None = None, *, as_limit: bool = False) -> float | None:
    """The threshold's value as stated in the passage, or None when no value could be read from it.

    The first value with the right unit, in the first sentence that (with the heading) speaks of the threshold.
    With `as_limit`, only a value stated as a limit ('at or below 5%', 'must not exceed 200') counts: a passage
    nobody named as the limit's source may quote figures of other kinds ('answer 95% of calls about late orders')."""
    reader = READERS[field]
    for sentence in _sentences(passage[:MAX_PASSAGE_CHARS]):
        context = f"{heading or ''}\n{sentence}"
        if not reader.about.search(context):
            continue
        found = reader.pattern.finditer(sentence)
        match = next((m for m in found if not as_limit or _stated_as_limit(sentence, m)), None)
        if match is None:
            continue
        value = reader.convert(match)
        if (
            reader.complement is not None
            and reader.complement.search(sentence)
            and not re.search(r"\blate\b", sentence, re.IGNORECASE)
        ):
            value = 1 - value
        return round(value, 10)
    return None


class SourcedThreshold(BaseModel):
    """A threshold the agent's config ties to an SOP: the value read, and the passage it was read from (or,
    when none could be read, the passage most relevant to it)."""

    field: str
    document: str
    value: float | None
    page: int | None = None
    heading: str | None = None
    text: str | None = None


def where(threshold: SourcedThreshold) -> str:
    """'<document> §<heading>' (or page), as precise as the passage's metadata allows."""
    if threshold.heading:
        return f"{threshold.document} §{threshold.heading.strip()}"
    if threshold.page is not None:
        return f"{threshold.document}, page {threshold.page}"
    return threshold.document


# What each limit is on, as a sentence names it ('the limit on the late rate'): the fields' own names ('max late
# rate limit') read as code.
_LIMIT_SUBJECTS = {
    "max_late_rate": "the late rate",
    "min_picker_lines_per_hour": "each picker's lines per hour",
    "min_picker_lines_for_rating": "the lines a picker needs to be rated",
    "min_picker_active_hours": "a picker's shortest active time",
    "max_backlog_orders": "the orders open at the end of the day",
    "max_backlog_age_hours": "the age of the oldest open order",
    "min_hourly_pick_ratio": "an hour's picks against the median hour",
    "max_unreadable_share": "the share of rows that cannot be read",
}


def limit_subject(field: str) -> str:
    """What a threshold limits, in words: 'max_late_rate' → 'the late rate'."""
    return _LIMIT_SUBJECTS.get(field) or "the " + " ".join(field.removeprefix("max_").removeprefix("min_").split("_"))


def fmt_limit(field: str, value: float) -> str:
    if field in ("max_late_rate", "min_hourly_pick_ratio", "max_unreadable_share"):
        return f"{value * 100:.1f}%"
    if field == "max_backlog_age_hours":
        return f"{value:,.1f} h"
    if field == "min_picker_lines_per_hour":
        return f"{value:,.1f} lines/h"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def unread_threshold_note(threshold: SourcedThreshold, limits: BaseModel) -> str:
    """What the report says when no value could be read: never that the SOP states none."""
    configured = fmt_limit(threshold.field, float(getattr(limits, threshold.field)))
    if threshold.text is None:
        return (
            f"{threshold.field}: could not read a value from {threshold.document} (no passage of it was found "
            f"about: {READERS[threshold.field].topic}); the configured limit {configured} applies."
        )
    return (
        f"{threshold.field}: could not read a value from {where(threshold)}; the configured limit {configured} applies."
    )
