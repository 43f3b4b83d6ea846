"""FOR TESTS ONLY (a test double): a provider that replays scripted answers from a JSON file, recording every
prompt it sees.

File format: {"analysis": [answer, ...], "profile": [...]} — answers are consumed in order per purpose (whichever
scripted route asks). An answer is a string (the text), or an object: {"text", "prompt_tokens",
"completion_tokens"} to report usage, or {"fail": 503 | 429 | 400 | "connection" | "timeout"} to fail like a
server would, so routing, fallback and budgets can be driven without a network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from phi.llm.base import ChatMessage, LlmResponse, Purpose


class ScriptedHttpError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"scripted HTTP {status_code}")
        self.status_code = status_code


class ScriptedProvider:
    name = "scripted"

    def __init__(self, script_file: str, model: str = "scripted") -> None:
        self._path = Path(script_file)
        self._model = model

    def chat(
        self,
        messages: list[ChatMessage],
        *,
        purpose: Purpose,
        json_schema: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
    ) -> LlmResponse:
        script = json.loads(self._path.read_text())
        answers = script.get(purpose) or []
        if not answers:
            raise RuntimeError(f"scripted LLM has no answer left for purpose {purpose!r}")
        answer = answers.pop(0)
        script[purpose] = answers
        script.setdefault("seen", []).append(
            {"purpose": purpose, "model": self._model, "messages": [m.model_dump() for m in messages]}
        )
        self._path.write_text(json.dumps(script))
        if isinstance(answer, dict) and "fail" in answer:
            _fail(answer["fail"])
        if isinstance(answer, dict):
            return LlmResponse(
                text=str(answer.get("text", "")),
                model=self._model,
                prompt_tokens=int(answer.get("prompt_tokens", 0)),
                completion_tokens=int(answer.get("completion_tokens", 0)),
            )
        return LlmResponse(text=str(answer), model=self._model, prompt_tokens=0, completion_tokens=0)


def _fail(kind: Any) -> None:
    if kind == "connection":
        raise ConnectionError("scripted connection failure")
    if kind == "timeout":
        raise TimeoutError("scripted timeout")
    raise ScriptedHttpError(int(kind))
