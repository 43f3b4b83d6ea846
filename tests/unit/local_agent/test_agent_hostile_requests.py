"""What a message on the agent's queue, or an answer from the network, cannot make the agent do: upload results to
another host, stall in its log scrubber, echo megabytes, follow a redirect with its key, misread a password."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from phi_agent.api import ApiClient, ApiError
from phi_agent.config import CloudConfig
from phi_agent.errors import ToolError
from phi_agent.logs import MAX_LOGGED_CHARS, JsonFormatter, log_fields, redact
from phi_agent.messages import MalformedRequest, ToolRequest, parse_request
from phi_agent.results import ResultUpload, check_upload_target
from phi_agent.tools.db_query import database_url

KEY = "tool-results/task-1/call-1.jsonl.gz"
ON_AWS = CloudConfig(region="eu-west-2", queue_url="q", api_url="https://api.example", results_bucket="phi-results")
EMBEDDED = CloudConfig(
    region="us-east-1",
    queue_url="q",
    api_url="a",
    aws_endpoint_url="http://127.0.0.1:4566",
    results_endpoint_url="http://127.0.0.1:4566",
)
# The machine sends its AWS calls through a proxy; the cloud's configuration still names where results go
BEHIND_PROXY = CloudConfig(
    region="eu-west-2",
    queue_url="q",
    api_url="a",
    aws_endpoint_url="http://proxy.corp:3128",
    results_endpoint_url=None,
    results_bucket="phi-results",
)
# A configuration written before results_endpoint_url: uploads go to aws_endpoint_url
OLDER_CONFIG = CloudConfig(region="us-east-1", queue_url="q", api_url="a", aws_endpoint_url="http://127.0.0.1:4566")


@pytest.mark.parametrize(
    ("cloud", "url"),
    [
        (ON_AWS, f"https://phi-results.s3.eu-west-2.amazonaws.com/{KEY}?X-Amz-Signature=x"),
        (ON_AWS, f"https://phi-results.s3.amazonaws.com/{KEY}"),
        (ON_AWS, f"https://s3.eu-west-2.amazonaws.com/phi-results/{KEY}"),
        (ON_AWS, f"https://phi-results.s3.dualstack.eu-west-2.amazonaws.com/{KEY}"),
        (ON_AWS, f"https://phi-results.s3-eu-west-2.amazonaws.com:443/{KEY}"),
        (EMBEDDED, f"http://127.0.0.1:4566/any-bucket/{KEY}?AWSAccessKeyId=x"),
        (BEHIND_PROXY, f"https://phi-results.s3.eu-west-2.amazonaws.com/{KEY}"),
        (OLDER_CONFIG, f"http://127.0.0.1:4566/any-bucket/{KEY}"),
    ],
)
def test_the_agents_own_s3_is_an_upload_target(cloud: CloudConfig, url: str) -> None:
    check_upload_target(ResultUpload(url=url, key=KEY), cloud)


@pytest.mark.parametrize(
    ("cloud", "url", "why"),
    [
        (ON_AWS, f"http://10.0.0.5/{KEY}", "not HTTPS"),
        (ON_AWS, f"gopher://10.0.0.5/{KEY}", "not HTTPS"),
        (ON_AWS, f"https://phi-results.s3.eu-west-2.amazonaws.com:8443/{KEY}", "not HTTPS"),
        (ON_AWS, f"https://intranet.corp/{KEY}", "is not the S3 endpoint of eu-west-2"),
        (ON_AWS, f"https://s3.eu-west-2.amazonaws.com.evil.example/phi-results/{KEY}", "is not the S3 endpoint"),
        (ON_AWS, f"https://phi-results.s3.us-east-1.amazonaws.com/{KEY}", "is not the S3 endpoint of eu-west-2"),
        (ON_AWS, f"https://attacker-bucket.s3.eu-west-2.amazonaws.com/{KEY}", "not the configured results bucket"),
        (ON_AWS, f"https://s3.eu-west-2.amazonaws.com/attacker-bucket/{KEY}", "not the configured results bucket"),
        (ON_AWS, "https://phi-results.s3.eu-west-2.amazonaws.com/tool-results/other", "not the request's result key"),
        (ON_AWS, f"https://user:pw@phi-results.s3.eu-west-2.amazonaws.com/{KEY}", "carries user information"),
        (EMBEDDED, f"http://127.0.0.1:8080/bucket/{KEY}", "not the configured results endpoint"),
        (EMBEDDED, f"https://127.0.0.1:4566/bucket/{KEY}", "not the configured results endpoint"),
        (BEHIND_PROXY, f"http://proxy.corp:3128/phi-results/{KEY}", "not HTTPS"),
        (BEHIND_PROXY, f"https://proxy.corp/phi-results/{KEY}", "is not the S3 endpoint of eu-west-2"),
        (OLDER_CONFIG, f"http://10.1.1.1:4566/bucket/{KEY}", "not the configured results endpoint"),
    ],
)
def test_any_other_upload_target_is_refused_as_a_bad_request(cloud: CloudConfig, url: str, why: str) -> None:
    with pytest.raises(ToolError) as refused:
        check_upload_target(ResultUpload(url=url, key=KEY), cloud)
    assert refused.value.error == "Tool.BadRequest"
    assert "the result upload URL is refused" in refused.value.cause and why in refused.value.cause


def test_scrubbing_a_long_word_or_repeated_schemes_still_scrubs_passwords() -> None:
    # Once quadratic: every letter of a long word began a new scheme match, scanned to the word's end
    hostile = "a" * 1_000_000 + " " + "a://b:" * 100_000
    assert redact(hostile) == hostile
    assert redact("postgresql://reader:s3cret@db:5432/w, mysql://u:p%40ss@h/x") == (
        "postgresql://reader:***@db:5432/w, mysql://u:***@h/x"
    )


def test_a_log_line_quotes_a_long_field_cut_to_its_limit() -> None:
    record = logging.LogRecord("phi_agent", logging.INFO, __file__, 1, "tool failed", None, None)
    record.__dict__.update(log_fields(tool_call_id="c" * 100_000, cause="x://u:secret@h " + "y" * 10_000))
    line = json.loads(JsonFormatter().format(record))
    assert len(line["tool_call_id"]) < MAX_LOGGED_CHARS + 40 and line["tool_call_id"].endswith("(100,000 characters)")
    assert "secret" not in line["cause"]


@pytest.mark.parametrize(
    ("body", "answerable"),
    [
        ("[" * 100_000, False),  # RecursionError in the JSON parser
        ('{"v": 1, "n": ' + "9" * 5_000 + "}", False),  # ValueError: more digits than int() converts
        ('{"v": 1, "task_token": "tok\\udc80", "task_id": "t", "tool_call_id": "c", "org_id": "o", '
         '"agent_id": "a", "tool": "db.query"}', False),  # a lone surrogate: no answer can carry the token
        (json.dumps({"v": 1, "task_token": "tok", "task_id": "t", "tool_call_id": "c" * 300_000, "org_id": "o",
                     "agent_id": "a", "tool": "db.query"}), True),  # an answer would echo it past 256 KiB
    ],
)  # fmt: skip
def test_a_body_that_breaks_the_parser_is_malformed_never_an_exception(body: str, answerable: bool) -> None:
    parsed = parse_request(body)
    assert isinstance(parsed, MalformedRequest)
    assert (parsed.task_token is not None) is answerable
    assert len(parsed.reason) < 2_000


def test_a_well_formed_request_still_parses() -> None:
    body = {"v": 1, "task_token": "t" * 1_024, "task_id": "t", "tool_call_id": "c", "org_id": "o", "agent_id": "a",
            "tool": "db.query", "args": {"sql": "SELECT 1"}}  # fmt: skip
    assert isinstance(parse_request(json.dumps(body)), ToolRequest)


def test_a_password_with_a_raw_at_sign_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError) as refused:
        database_url("postgresql://reader:p@SECRET-TAIL@127.0.0.1:5432/w")
    assert "%40" in str(refused.value) and "SECRET" not in str(refused.value)
    assert database_url("postgresql://reader:p%40ss@127.0.0.1:5432/w").password == "p@ss"


class _Redirecting(BaseHTTPRequestHandler):
    target = ""

    def do_POST(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _KeyCatcher(_Redirecting):
    keys: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.keys.append(self.headers.get("Authorization", ""))
        self.send_response(200)
        self.end_headers()

    do_POST = do_GET


def test_the_api_client_never_follows_a_redirect_with_its_key() -> None:
    catcher = ThreadingHTTPServer(("127.0.0.1", 0), _KeyCatcher)
    _Redirecting.target = f"http://127.0.0.1:{catcher.server_port}/steal"
    redirecting = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    for server in (catcher, redirecting):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ApiClient(f"http://127.0.0.1:{redirecting.server_port}", "phi_ak_secret", attempts=1)
        with pytest.raises(ApiError) as refused:
            client.post("/local-agents/heartbeat", {})
    finally:
        catcher.shutdown()
        redirecting.shutdown()
    assert refused.value.status == 302
    assert _KeyCatcher.keys == []


def test_an_excel_number_format_longer_than_excel_allows_is_not_scanned() -> None:
    # A workbook may claim any format; a run of '[' without ']' made the scan quadratic. Past 255 characters the
    # cell is read as showing a time (its date and time kept), without looking inside.
    from phi_agent.tools.file_read import _format_shows_time

    assert _format_shows_time("[" * 200_000) is True
    assert _format_shows_time("yyyy-mm-dd") is False and _format_shows_time("dd.mm.yyyy hh:mm") is True
