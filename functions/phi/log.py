"""The one structured logger (Powertools) every layer writes to; handlers bind task ids onto it."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger


def _json_line(record: dict[str, Any]) -> str:
    """Powertools' own serialisation (compact, non-ASCII kept as is), except that a lone surrogate half is
    written as its JSON escape. JSON's "\\ud800" makes one, a request's text can carry it into a message, and no
    UTF-8 stream can write it: the handler dropped the whole record ("--- Logging error ---"). Every text sits
    inside a JSON string, where the six characters \\ud800 are that same escape, so the line stays valid JSON."""
    line = json.dumps(record, default=str, separators=(",", ":"), ensure_ascii=False)
    return line.encode("utf-8", "backslashreplace").decode("utf-8") if not line.isascii() else line


logger = Logger(json_serializer=_json_line)  # service name from POWERTOOLS_SERVICE_NAME (one per function, set by CDK)
