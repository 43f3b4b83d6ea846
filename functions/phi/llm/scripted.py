"""FOR TESTS ONLY: a provider that replays scripted answers from a JSON file, recording every prompt it sees.

File format: {"analysis": ["answer 1", ...], "profile": [...]} — answers are consumed in order per purpose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from phi.llm.base import ChatMessage, LlmResponse, Purpose


class ScriptedProvider:
    name = "scripted"

    def __init__(self, script_file: str) -> None:
        self._path = Path(script_file)

    def chat(
        self, messages: list[ChatMessage], *, purpose: Purpose, json_schema: dict[str, Any] | None = None
    ) -> LlmResponse:
        script = json.loads(self._path.read_text())
        answers = script.get(purpose) or []
        if not answers:
            raise RuntimeError(f"scripted LLM has no answer left for purpose {purpose!r}")
        answer = answers.pop(0)
        script[purpose] = answers
        script.setdefault("seen", []).append({"purpose": purpose, "messages": [m.model_dump() for m in messages]})
        self._path.write_text(json.dumps(script))
        return LlmResponse(text=answer, model="scripted", prompt_tokens=0, completion_tokens=0)
