"""Which lane a person's request takes (DESIGN §9): `execute` (a one-off data operation) or `patch` (a
permanent change to the agent's workflow).

With an LLM the model decides (purpose "classification", structured output {lane, confidence, reason}); without
one — or when its answer cannot be used — a deterministic rule-based classifier decides and says so. The rules
look for standing instructions: temporal cues (always, whenever, every time, each time, from now on, every
morning…), edits of the workflow itself (add a step, remove the notification…) and conditional actions (if …
then alert / notify …). They are ignored where they describe data rather than instruct: inside questions
("which carriers are always late?"), inside quotes, right after a negation ("not every time"), and when the
request says it is a one-off ("just this once")."""

from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from phi.definitions.nesting import MAX_JSON_DEPTH, NotFinite, TooLarge, measure
from phi.definitions.table_format import storable

Lane = Literal["execute", "patch"]

_QUOTED = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d|\u2018[^\u2019]*\u2019|(?<![a-z])'[^']*'(?![a-z])")
_ONE_OFF = re.compile(
    r"\b(just|only) (this|once|now|today)\b|\bone[- ]off\b|\bone[- ]time\b|\bthis (time|once)\b|\bright now\b"
    r"|\bfor now\b|\bjust once\b"
)
_ONE_OFF_TIME = re.compile(
    r"\b(today|yesterday|tonight|this (morning|afternoon|evening|week|month)|last (week|month|night|\w+day))\b"
)
_ACTION = r"(alert|notify|email|e-mail|send|page|escalate|warn|message|ping|text|post|call|tell|inform|cc)"
_STRUCTURAL = re.compile(
    r"\b(add|insert|append|include|remove|delete|drop|replace|change|modify|update|rename|reorder|skip)\b"
    r"(?: \S+){0,5}? (a |an |the |another |new |extra )?"
    r"(step|steps|node|nodes|stage|notification|notifications|alert|alerts|schedule|workflow|edge|condition)\b"
    r"|\b(reschedule|stop (sending|notifying|alerting|emailing|running)|no longer (send|notify|alert|email|run))\b"
    r"|\b(add|remove|drop|include|move)\b[^.?!]{0,60}\b(to|from|in|into) (the|our|this) (\w+ )?"
    r"(report|workflow|pipeline)\b"
)
_STANDING = re.compile(
    r"\b(always|whenever|every ?time|each time|from now on|going forward|from today on|in (the )?future"
    r"|every (morning|day|evening|night|week|month|hour|weekday|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday)|each (morning|day|evening|week|month|monday|tuesday|wednesday|thursday|friday))\b"
)
# Cues that still describe data when they follow a query verb ("show orders late every time they used DHL").
_DESCRIPTIVE = ("always", "whenever", "every time", "everytime", "each time")
_CONDITIONAL = re.compile(
    rf"\b(if|when|whenever|once|as soon as)\b[^?]*?(,|\bthen\b|\b(please )?{_ACTION}\b)\s*(then\s+)?"
    rf"(please\s+)?{_ACTION}\b"
)
_QUESTION_START = re.compile(
    r"^(what|which|who|whom|whose|why|how|where|when|is|are|was|were|does|do|did|has|have|had|should|shall)\b"
)
_POLITE_REQUEST = re.compile(r"^(can|could|would|will) you\b|^please\b")
_QUERY_VERB = re.compile(r"^(please )?(show|list|get|fetch|find|count|display|give me|tell me|look up|pull|compute)\b")
_NEGATION = {"not", "never", "no", "dont", "don't", "doesn't", "doesnt", "isn't", "isnt", "won't", "without"}
_ACTION_WORDS = re.compile(rf"^{_ACTION}(s|ed|ing)?$")


class Classification(BaseModel):
    lane: Lane
    confidence: float = Field(ge=0, le=1)
    reason: str = Field(max_length=1000)


def _normalise(prompt: str) -> str:
    text = _QUOTED.sub(" ", prompt.lower().replace("\u2019", "'"))
    text = re.sub(r"\b(\w+)-(on|off|time)\b", r"\1_\2", text)  # "always-on", "one-time" stay one word
    text = text.replace("one_time", "one-time").replace("one_off", "one-off")
    return re.sub(r"\s+", " ", text).strip()


def _negated(text: str, start: int) -> bool:
    """A negation in the three words before the cue, unless an action verb sits between: "not every time" and
    "I don't want this every time" negate the cue; "don't notify me every time" is a standing prohibition."""
    before = re.findall(r"[a-z']+", text[:start])[-3:]
    for index, word in enumerate(before):
        if word.rstrip(",") in _NEGATION or word.endswith("n't"):
            between = before[index + 1 :]
            return not any(_ACTION_WORDS.match(w) for w in between)
    return False


def _first_live(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    return next((m for m in pattern.finditer(text) if not _negated(text, m.start())), None)


def classify_by_rules(prompt: str) -> Classification:
    text = _normalise(prompt)
    question = (text.endswith("?") or bool(_QUESTION_START.match(text))) and not _POLITE_REQUEST.match(text)
    one_off = _ONE_OFF.search(text)
    structural = _first_live(_STRUCTURAL, text)
    if structural and not (question and _QUESTION_START.match(text)):
        return _rule("patch", 0.9, f"{structural.group(0)!r} changes the workflow itself")
    if one_off:
        return _rule("execute", 0.85, f"{one_off.group(0)!r} asks for a one-off")
    if question:
        return _rule("execute", 0.75, "a question about the data, answered once")
    standing = _first_live(_STANDING, text)
    if standing and _QUERY_VERB.match(text) and standing.group(0).replace("everytime", "every time") in _DESCRIPTIVE:
        standing = None  # "list the carriers late every time" describes the rows asked for
    if standing:
        return _rule("patch", 0.85, f"{standing.group(0)!r} is a standing instruction")
    conditional = _first_live(_CONDITIONAL, text)
    if conditional:
        when = _ONE_OFF_TIME.search(text)
        if when:
            return _rule("execute", 0.6, f"a conditional action, but {when.group(0)!r} makes it a one-off")
        return _rule("patch", 0.75, f"{conditional.group(0)!r} is a rule to follow from now on")
    return _rule("execute", 0.6, "no standing instruction (always, whenever, from now on, add a step, if … then …)")


def _rule(lane: Lane, confidence: float, why: str) -> Classification:
    return Classification(lane=lane, confidence=confidence, reason=f"Rule-based, no LLM decided: {why} → {lane}.")


CLASSIFICATION_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["lane", "confidence", "reason"],
    "properties": {
        "lane": {"enum": ["execute", "patch"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string"},
    },
}
CLASSIFICATION_SYSTEM = (
    "You route requests made to an operations agent. Answer with JSON {lane, confidence, reason}.\n"
    "lane 'patch': the person wants a permanent change to the agent's workflow — a standing instruction "
    "(always, whenever, every time, from now on, every morning), a rule (if X then alert Y), or an edit of "
    "its steps or schedule.\n"
    "lane 'execute': a one-off data operation or question, answered once now (show, list, fetch, what/which/how "
    "many…), even if it mentions 'always' while describing the data.\n"
    "confidence: 0 to 1. reason: one short sentence."
)


class UnusableAnswer(ValueError):
    """A model answer that cannot be used; the message says why."""


def parse_json_answer(text: str, max_chars: int = 262_144) -> object:
    """JSON from a model's answer, optionally inside a Markdown code fence. The answer is outside input: either a
    value that can be validated and stored comes back, or UnusableAnswer saying why — never Python's own
    failures (nesting past the recursion limit, an integer past 4,300 digits), nor NaN or Infinity (which a
    jsonb column refuses). Texts keep what PostgreSQL cannot (NUL, a lone surrogate half) as U+FFFD, as
    everything else read from outside does (phi.definitions.table_format.storable)."""
    if len(text) > max_chars:
        raise UnusableAnswer(f"the answer is longer than {max_chars:,} characters")
    cleaned = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text.strip())
    try:
        value = json.loads(cleaned, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise UnusableAnswer(f"the answer is not JSON ({exc.msg} at position {exc.pos})") from exc
    except UnusableAnswer:
        raise
    except RecursionError as exc:
        raise UnusableAnswer(f"the answer's JSON is nested deeper than {MAX_ANSWER_DEPTH} levels") from exc
    except ValueError as exc:  # int() of a number past sys.get_int_max_str_digits()
        raise UnusableAnswer("the answer's JSON has a number with thousands of digits") from exc
    try:
        measure(value, 2 * max_chars, max_depth=MAX_ANSWER_DEPTH, finite=True)
    except TooLarge as exc:
        raise UnusableAnswer(f"the answer's JSON at {exc.where or 'its top'} is {exc}") from exc
    except NotFinite as exc:
        raise UnusableAnswer(f"the answer's JSON has a number out of range at {exc.where}") from exc
    return storable(value)


# A planned pipeline or patch is wrapped in the answer's object: one level more than a definition may nest.
MAX_ANSWER_DEPTH = MAX_JSON_DEPTH + 1


def _no_constant(name: str) -> object:
    raise UnusableAnswer(f"the answer's JSON has {name}, which JSON does not allow")


def parse_classification(text: str) -> Classification:
    data = parse_json_answer(text, 20_000)
    try:
        return Classification.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors())
        raise UnusableAnswer(f"the answer is not {{lane, confidence, reason}} ({problems})") from exc
