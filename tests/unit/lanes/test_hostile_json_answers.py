"""A model's JSON answer (a classification, a planned pipeline, a patch) is outside input: whatever it holds, the
parser returns a value that can be validated and stored, or says in its own words why the answer is unusable —
never Python's own failures (which a request would keep only as their kind), nor a value that breaks later where
nothing is kept (PostgreSQL's jsonb refuses NaN and Infinity, its texts NUL; UTF-8 has no lone surrogate half)."""

from __future__ import annotations

import pytest

from phi.services import requests as requests_service
from phi.services.lanes import UnusableAnswer, parse_json_answer

HOSTILE = {
    "nested past the recursion limit": "[" * 100_000 + "]" * 100_000,
    "nested 200 deep": '{"definition": ' + "[" * 200 + "]" * 200 + "}",
    "a number with 10,000 digits": '{"definition": {"limit": ' + "9" * 10_000 + "}}",
    "a float out of range": '{"definition": {"limit": 1e999999}}',
    "NaN": '{"definition": {"limit": NaN}}',
    "-Infinity": '{"definition": {"limit": -Infinity}}',
}


@pytest.mark.parametrize("answer", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_answer_is_unusable_in_the_project_s_words(answer: str) -> None:
    with pytest.raises(UnusableAnswer) as caught:
        parse_json_answer(answer)
    reason = requests_service._model_failure(caught.value, 300)
    assert reason.startswith("the answer")  # kept on the request as said, not as an exception's kind


def test_an_ordinary_answer_still_parses() -> None:
    answer = '```json\n{"definition": {"nodes": [{"id": "a", "settings": {"limit": 10, "ratio": 2.5}}]},' + (
        ' "explanation": "Lists late orders — café stock"}\n```'
    )
    assert parse_json_answer(answer) == {
        "definition": {"nodes": [{"id": "a", "settings": {"limit": 10, "ratio": 2.5}}]},
        "explanation": "Lists late orders — café stock",
    }


def test_text_postgresql_cannot_keep_is_kept_as_u_fffd() -> None:
    answer = '{"explanation": "Renames \\ud800 it\\u0000.", "patch": [{"op": "add", "value": {"\\udc00": 1}}]}'
    assert parse_json_answer(answer) == {
        "explanation": "Renames \ufffd it\ufffd.",
        "patch": [{"op": "add", "value": {"\ufffd": 1}}],
    }
