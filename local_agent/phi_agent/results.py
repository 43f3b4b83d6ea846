"""Turn a tool's row stream into the SendTaskSuccess output: inline when small, else gzip JSON lines on S3.

Rows are read one at a time: at most the inline limit is ever held in memory; beyond it rows go
straight to a compressed temporary file that is then streamed to the pre-signed URL.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import logging
import re
import tempfile
import time
import urllib.request
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit

from pydantic import BaseModel, ConfigDict

from phi_agent.errors import ToolError
from phi_agent.logs import log_fields
from phi_agent.tools.base import TabularResult, json_safe

if TYPE_CHECKING:
    from phi_agent.config import CloudConfig

logger = logging.getLogger(__name__)

RESULT_FORMAT = "jsonl.gz"
_WRITE_BATCH_ROWS = 2_000
# Or fewer rows when they are long: a batch is joined and encoded whole before it is compressed (JSON escapes a
# control character as six bytes, so a row's text can be several times what the result limits counted).
_WRITE_BATCH_CHARS = 4 * 1024 * 1024
_UPLOAD_ATTEMPTS = 4
_UPLOAD_BLOCK_BYTES = 1024 * 1024
# Bytes of the inline wrapper around the rows: {"columns":…, "rows":[…], "row_count":N, "truncated":…}
_INLINE_OVERHEAD_BYTES = 96


class ResultUpload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str
    key: str


# One encoder for all rows: json.dumps with options would build a new encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _encode(value: Any) -> str:
    return _ENCODER.encode(value)


class _GzipSpill:
    """Compressed JSON lines in an anonymous temporary file (removed by the OS when closed)."""

    def __init__(self, columns: list[str]) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="phi-agent-result-")  # noqa: SIM115 (closed by close())
        self._gzip = gzip.GzipFile(fileobj=self.file, mode="wb", compresslevel=5)
        self._pending: list[str] = [_encode({"columns": columns})]
        self._pending_chars = 0

    def add(self, encoded_row: str) -> None:
        self._pending.append(encoded_row)
        self._pending_chars += len(encoded_row)
        if len(self._pending) >= _WRITE_BATCH_ROWS or self._pending_chars >= _WRITE_BATCH_CHARS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._gzip.write(("\n".join(self._pending) + "\n").encode("utf-8"))
            self._pending, self._pending_chars = [], 0

    def finish(self) -> int:
        self._flush()
        self._gzip.close()
        size = self.file.tell()
        self.file.seek(0)
        return size

    def close(self) -> None:
        self.file.close()


# An S3 endpoint: '[bucket.]s3[.dualstack].<region>.amazonaws.com', the legacy 's3-<region>' and global 's3' forms,
# and China's '.amazonaws.com.cn'.
_S3_HOST = re.compile(
    r"(?:(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])\.)?s3(?:[.\-](?:dualstack\.)?(?P<region>[a-z0-9\-]+))?"
    r"\.amazonaws\.com(?:\.cn)?",
    re.ASCII,
)


def _results_origin(cloud: CloudConfig) -> str | None:
    """Where upload URLs point: the cloud's `results_endpoint_url` (null on AWS: the region's S3 endpoint); a
    config written before that field: `aws_endpoint_url`. A config that points `aws_endpoint_url` at a proxy or a
    VPC endpoint for the AWS API calls does not change where results go."""
    if "results_endpoint_url" in cloud.model_fields_set:
        return cloud.results_endpoint_url
    return cloud.aws_endpoint_url


def check_upload_target(upload: ResultUpload, cloud: CloudConfig) -> None:
    """Refuses (Tool.BadRequest, before the tool runs) an upload URL that is not the agent's own S3: HTTPS to the
    S3 endpoint of its region (or exactly the endpoint the cloud's configuration names: the embedded stack, an
    S3-compatible store), into `results_bucket` when the config names it, at the request's own key. A queue
    message must not make the agent send customer data to another host — one on the customer's own network above
    all."""

    def refuse(why: str) -> None:
        raise ToolError("Tool.BadRequest", f"the result upload URL is refused: {why}")

    parts = urlsplit(upload.url)
    if "@" in parts.netloc:
        refuse("it carries user information")
    bucket: str | None = None
    origin = _results_origin(cloud)
    if origin:
        endpoint = urlsplit(origin)
        if (parts.scheme.lower(), parts.netloc.lower()) != (endpoint.scheme.lower(), endpoint.netloc.lower()):
            refuse("it is not the configured results endpoint")
    else:
        host = (parts.hostname or "").lower()
        match = _S3_HOST.fullmatch(host)
        if parts.scheme.lower() != "https" or parts.port not in (None, 443):
            refuse("it is not HTTPS")
        if match is None or match["region"] not in (None, cloud.region.lower()):
            refuse(f"{host[:80]!r} is not the S3 endpoint of {cloud.region}")
        bucket = match["bucket"] if match else None
    path = unquote(parts.path).removeprefix("/")
    if bucket is None:  # path-style: /<bucket>/<key>
        bucket, _, path = path.partition("/")
    if path != upload.key:
        refuse("its object is not the request's result key")
    if cloud.results_bucket and bucket != cloud.results_bucket:
        refuse("its bucket is not the configured results bucket")


def put_presigned(
    url: str,
    body: IO[bytes],
    size: int,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> None:
    """HTTP PUT of `body` to a pre-signed URL, retrying network errors and 5xx answers with backoff until
    `deadline` (time.monotonic()) if given. The answer's body is never read back: only its status is reported."""
    parts = urlsplit(url)
    for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
        body.seek(0)
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise ToolError("Tool.Timeout", "the request's deadline passed while its result was being uploaded")
        timeout = 120.0 if left is None else max(1.0, min(120.0, left))
        connection, target, proxy_headers = _connection(parts, timeout)
        try:
            connection.request("PUT", target, body=body, headers={"Content-Length": str(size), **proxy_headers})
            response = connection.getresponse()
            if 200 <= response.status < 300:
                return
            if response.status < 500:
                raise ToolError("Tool.InternalError", f"the result upload was refused (HTTP {response.status})")
            problem = f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as error:
            problem = f"{type(error).__name__}: {error}"
        finally:
            connection.close()
        logger.warning("result upload failed; retrying", extra=log_fields(attempt=attempt, problem=problem))
        if attempt < _UPLOAD_ATTEMPTS:
            sleep(min(8.0, 0.5 * 2**attempt))
    raise ToolError("Tool.InternalError", f"the result upload failed after {_UPLOAD_ATTEMPTS} attempts: {problem}")


def _connection(parts: SplitResult, timeout: float) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """A connection for a PUT to `parts`, the request target and any header the proxy needs — through the
    machine's proxy when its environment names one for that scheme and does not exclude the host (HTTPS_PROXY /
    HTTP_PROXY / NO_PROXY, as boto3 and the API client honour them): a CONNECT tunnel for HTTPS (the proxy's
    credentials on the CONNECT), the absolute URL for plain HTTP (on the request)."""
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    secure = parts.scheme == "https"
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        connection_type = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        return connection_type(parts.netloc, timeout=timeout, blocksize=_UPLOAD_BLOCK_BYTES), target, {}
    via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    via_type = http.client.HTTPSConnection if via.scheme == "https" else http.client.HTTPConnection
    connection = via_type(
        via.hostname or "",
        via.port or (443 if via.scheme == "https" else 80),
        timeout=timeout,
        blocksize=_UPLOAD_BLOCK_BYTES,
    )
    credentials: dict[str, str] = {}
    if via.username is not None:
        pair = f"{unquote(via.username)}:{unquote(via.password or '')}".encode()
        credentials["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    if secure:
        connection.set_tunnel(parts.hostname or "", parts.port or 443, headers=credentials)
        return connection, target, {}
    return connection, f"{parts.scheme}://{parts.netloc}{target}", credentials


def _answer_bytes(encoded: str, as_text: bool) -> int:
    """What an encoded piece adds to the answer's UTF-8 size; inside a JSON string (as_text) every quote and
    backslash gains an escaping backslash, and the inline limit is on what is sent."""
    size = len(encoded) if encoded.isascii() else len(encoded.encode("utf-8"))  # isascii() is O(1)
    if as_text:
        size += encoded.count('"') + encoded.count("\\")
    return size


class SpilledResult:
    """A result too large to answer inline, read whole into a compressed temporary file and not yet uploaded:
    uploading after the tool has closed lets the database connection (or file) go before the network transfer."""

    def __init__(self, tool_call_id: str, result: TabularResult, spill: _GzipSpill, upload: ResultUpload) -> None:
        self.tool_call_id, self.upload, self._spill = tool_call_id, upload, spill
        self.columns, self.row_count, self.truncated = result.columns, result.rows.count, result.rows.truncated
        self.size = spill.finish()

    def upload_output(self, deadline: float | None = None) -> dict[str, Any]:
        """Uploads the result (until `deadline`, a time.monotonic() instant, if given) and returns the reference
        answer; the temporary file is gone afterwards either way."""
        try:
            put_presigned(self.upload.url, self._spill.file, self.size, deadline=deadline)
        finally:
            self._spill.close()
        return {
            "v": 1,
            "tool_call_id": self.tool_call_id,
            "ok": True,
            "result_ref": {
                "key": self.upload.key,
                "bytes": self.size,
                "format": RESULT_FORMAT,
                "row_count": self.row_count,
                "columns": self.columns,
                "truncated": self.truncated,
            },
        }


def read_output(
    tool_call_id: str,
    result: TabularResult,
    inline_limit_bytes: int,
    upload: ResultUpload | None,
    as_text: bool = False,
) -> dict[str, Any] | SpilledResult:
    """Read every row once: the inline answer, or the result spilled for upload (see SpilledResult).

    `as_text` (the request's `result_as_text`): an inline result goes as one JSON text (`result_text`) instead
    of a JSON object; the state machine carries it opaque to Think, which alone reads the rows (a state machine
    interpreter copies and re-serialises its state at each transition, which costs per value, not per byte)."""
    # Each row is encoded once: its text counts towards the inline limit and is what is sent (as_text) or
    # spilled; the rows as values are kept only for an answer sent as an object.
    inline_rows: list[list[Any]] = []
    inline_texts: list[str] = []
    inline_bytes = _INLINE_OVERHEAD_BYTES + _answer_bytes(_encode(result.columns), as_text)
    spill: _GzipSpill | None = None
    try:
        for row in result.rows:
            safe_row = [json_safe(value) for value in row]
            encoded = _encode(safe_row)
            if spill is not None:
                spill.add(encoded)
                continue
            inline_bytes += _answer_bytes(encoded, as_text) + 1
            inline_texts.append(encoded)
            if not as_text:
                inline_rows.append(safe_row)
            if inline_bytes > inline_limit_bytes:
                spill = _start_spill(result.columns, inline_texts, upload, inline_limit_bytes)
                inline_rows, inline_texts = [], []
        if spill is None:
            return _inline_output(tool_call_id, result, inline_rows, inline_texts, as_text)
        assert upload is not None  # _start_spill refuses to spill without an upload target
        return SpilledResult(tool_call_id, result, spill, upload)
    except BaseException:
        if spill is not None:
            spill.close()
        raise


def build_output(
    tool_call_id: str,
    result: TabularResult,
    inline_limit_bytes: int,
    upload: ResultUpload | None,
    as_text: bool = False,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Read every row once and return the tool result (inline) or a reference to the uploaded result (uploaded
    until `deadline`, a time.monotonic() instant, if given). The agent itself reads inside the tool's context and
    uploads after it (read_output, then SpilledResult.upload_output)."""
    read = read_output(tool_call_id, result, inline_limit_bytes, upload, as_text)
    return read if isinstance(read, dict) else read.upload_output(deadline)


def _start_spill(
    columns: list[str], encoded_rows: list[str], upload: ResultUpload | None, inline_limit_bytes: int
) -> _GzipSpill:
    if upload is None:
        raise ToolError(
            "Tool.ResultTooLarge",
            f"the result is larger than {inline_limit_bytes} bytes and the request has no result_upload; "
            "ask for fewer rows or columns (max_rows) or aggregate in the query",
        )
    spill = _GzipSpill(columns)
    for encoded in encoded_rows:
        spill.add(encoded)
    return spill


def _inline_output(
    tool_call_id: str, result: TabularResult, rows: list[list[Any]], encoded_rows: list[str], as_text: bool
) -> dict[str, Any]:
    if as_text:
        # What _encode() gives for {"columns", "rows", "row_count", "truncated"}, from the rows' own texts.
        text = (
            f'{{"columns":{_encode(result.columns)},"rows":[{",".join(encoded_rows)}],'
            f'"row_count":{_encode(result.rows.count)},"truncated":{_encode(result.rows.truncated)}}}'
        )
        return {"v": 1, "tool_call_id": tool_call_id, "ok": True, "result_text": text}
    inline = {
        "columns": result.columns,
        "rows": rows,
        "row_count": result.rows.count,
        "truncated": result.rows.truncated,
    }
    return {"v": 1, "tool_call_id": tool_call_id, "ok": True, "result": inline}
