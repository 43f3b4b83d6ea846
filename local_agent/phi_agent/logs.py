"""Structured JSON logs on stderr, with secrets scrubbed from every line."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# A scheme starts where no scheme character precedes it: without the lookbehind every letter of a long word was
# a new start, scanned to the word's end (quadratic: a 250,000-letter field in a message held the agent ~60 s).
# User and password are bounded for the same reason.
_URL_PASSWORD = re.compile(
    r"(?<![a-zA-Z0-9+.\-])(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]{0,31}://)(?P<user>[^:/@\s]{0,256}):(?P<pw>[^@\s/]{1,1024})@"
)
# Each logged text is cut to this before it is scrubbed and written: a log line quotes a request, it does not copy it.
MAX_LOGGED_CHARS = 4_000
_SIGNED_QUERY = re.compile(
    r"(?P<name>X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId|x-amz-security-token)"
    r"=[^&\s\"']+",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
# A password given as a keyword rather than in the URL's user part: a database URL's query
# (`postgresql://reader@db/w?password=…`, which SQLAlchemy hands to the driver) or a libpq connection string
# (`host=db password='…'`). Names are those of the drivers the agent supports; values are bounded (linear scan).
_PASSWORD_KEYWORDS = ("password", "passwd", "pwd", "sslpassword")
_KEYWORD_PASSWORD = re.compile(
    r"(?<![A-Za-z0-9_])(?P<name>" + "|".join(_PASSWORD_KEYWORDS) + r")(?P<eq>\s*=\s*)"
    r"(?:'(?:[^'\\]|\\.){0,1024}'|(?!\*\*\*)[^&\s'\"]{1,1024})",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Remove passwords in URLs (and given as keywords), pre-signed URL signatures and bearer tokens from a message."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _KEYWORD_PASSWORD.sub(lambda m: f"{m['name']}{m['eq']}***", text)
    text = _SIGNED_QUERY.sub(lambda m: f"{m['name']}=***", text)
    return _BEARER.sub(r"\1***", text)


def _clipped(text: str) -> str:
    return text if len(text) <= MAX_LOGGED_CHARS else f"{text[:MAX_LOGGED_CHARS]}… ({len(text):,} characters)"


def token_hint(task_token: str) -> str:
    """A short, stable fingerprint of a task token: enough to correlate log lines, useless to an attacker."""
    return hashlib.sha256(task_token.encode("utf-8", errors="surrogatepass")).hexdigest()[:12]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(_clipped(record.getMessage())),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                line[key] = redact(_clipped(value)) if isinstance(value, str) else value
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        text = json.dumps(line, default=str, ensure_ascii=False)
        # A lone surrogate half (JSON's "\ud800" in what the cloud sent) cannot be written to a UTF-8 stream: the
        # handler would drop the whole line. Inside a JSON string the six characters \ud800 are its own escape.
        return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # botocore logs request details (including signed headers) at DEBUG; keep it quiet.
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_fields(**fields: Any) -> dict[str, Any]:
    """`logger.info(msg, extra=log_fields(task_id=...))` adds structured fields to a log line."""
    return {"fields": fields}
