"""`notify` and `http` nodes compiled into graphs and run with fake ports; "only when the late rate is over its
limit" as an ordinary edge condition on the warehouse report definition, with figures from a real SQLite file."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from phi.definitions.document import validate_definition
from phi.definitions.templates import get_template
from phi.domain.models import EventType
from phi.errors import InvalidDefinition
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import ToolOutcome, ToolRequest
from phi.workflows.ports import HttpFetch, HttpFetched, graph_config
from tests.support.fake_ports import (
    FakeEvents,
    FakeHttp,
    FakeNotifier,
    fake_ports,
    refusing_http,
    snapshot,
    sqlite_tools,
)
from tests.support.warehouse_reference import reference_figures

REPORT_DAY = date(2026, 11, 20)
START = {"task_id": "t-1", "org_id": "o-1", "agent_id": "a-1"}


def _run(
    document: dict[str, Any], tools: Any = None, task_input: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[dict[str, Any], Any]:
    def no_tools(request: ToolRequest) -> ToolOutcome:
        return ToolOutcome(ok=False, error="Tool.NotAllowed", cause="no tools in this test")

    ports = fake_ports(snapshot(task_type=document["key"], task_input=task_input or {}), tools or no_tools, **kwargs)
    graph = compile_definition(validate_definition(document)).compile()
    return graph.invoke(START, graph_config("t", ports)), ports


def warehouse_report_with_alert() -> dict[str, Any]:
    """The daily warehouse report template as shipped, plus an alert e-mail after the report that is sent only
    when the day's late rate is over a limit given as an input: an ordinary edge with a condition."""
    document = copy.deepcopy(get_template("daily_warehouse_report").definition)
    document["inputs"]["alert_over"] = {"type": "number", "default": 0.05}
    document["nodes"].append(
        {
            "id": "alert",
            "kind": "notify",
            "settings": {
                "channel": "email",
                "to": ["ops@example.com", "shift-lead@example.com"],
                "subject": "Late shipments over the limit on {{ day.day }}",
                "body": (
                    "{{ kpis.late.late_count }} late orders on {{ day.day }}: "
                    "{{ '%.1f' | format(kpis.late.late_rate * 100) }}% against a limit of "
                    "{{ '%.1f' | format(inputs.alert_over * 100) }}%.\n\n{{ report.summary }}"
                ),
            },
        }
    )
    document["edges"].append(
        {"from": "report", "to": "alert", "when": {">": [{"var": "kpis.late.late_rate"}, {"var": "inputs.alert_over"}]}}
    )
    return document


def test_the_alert_is_sent_only_when_the_late_rate_is_over_the_limit(warehouse_sqlite: Path) -> None:
    reference = reference_figures(warehouse_sqlite, REPORT_DAY)
    assert reference["late_orders"] > 0  # the sample day has late orders, so some limit is exceeded

    # limit 100 %: the report runs as always, the alert is skipped and the skip is visible
    day = REPORT_DAY.isoformat()
    state, ports = _run(warehouse_report_with_alert(), sqlite_tools(warehouse_sqlite), {"date": day, "alert_over": 1.0})
    assert state.get("failure") is None, state.get("failure")
    late = state["results"]["kpis"]["late"]
    assert late["late_count"] == reference["late_orders"]
    rate = late["late_rate"]
    assert 0 < rate < 1
    assert isinstance(ports.notifier, FakeNotifier) and ports.notifier.emails == []
    assert state["output"]["workflow"]["skipped"] == ["alert"]
    assert isinstance(ports.events, FakeEvents)
    assert any(e == EventType.NODE_SKIPPED and d == {"node": "alert"} for e, _, d in ports.events.recorded)

    # a limit just under the day's rate: the e-mail goes, its text filled from the graph's results
    limit = round(rate - 0.001, 4)
    state, ports = _run(
        warehouse_report_with_alert(), sqlite_tools(warehouse_sqlite), {"date": day, "alert_over": limit}
    )
    [email] = ports.notifier.emails
    assert email.node_id == "alert" and email.to == ["ops@example.com", "shift-lead@example.com"]
    assert email.subject == "Late shipments over the limit on 2026-11-20"
    assert email.body.startswith(
        f"{reference['late_orders']} late orders on 2026-11-20: "
        f"{rate * 100:.1f}% against a limit of {limit * 100:.1f}%."
    )
    assert state["results"]["report"]["summary"] in email.body
    assert state["results"]["alert"]["status"] == "CAPTURED"
    assert state["output"]["title"] == state["results"]["report"]["title"]  # the report stays the output
    assert state["output"]["workflow"]["skipped"] == []


def _webhook_workflow(**settings: Any) -> dict[str, Any]:
    return {
        "key": "late_webhook",
        "name": "Late carriers to our incident tool",
        "inputs": {"date": {"type": "date", "default": "2026-11-20"}},
        "nodes": [
            {"id": "late", "kind": "condition", "settings": {"expression": {">": [7, 5]}}},
            {
                "id": "hook",
                "kind": "notify",
                "settings": {
                    "channel": "webhook",
                    "url": "https://hooks.example.com/phi",
                    "body": "Late carriers on {{ inputs.date }}",
                    "payload": {"date": "{{ inputs.date }}", "late": "{{ late.value }}", "source": "phi"},
                    **settings,
                },
            },
        ],
        "edges": [{"from": "late", "to": "hook", "when": {"var": "late.value"}}],
    }


def test_a_webhook_carries_the_filled_payload_with_types_kept() -> None:
    state, ports = _run(_webhook_workflow())
    assert state.get("failure") is None, state.get("failure")
    [hook] = ports.notifier.webhooks
    assert hook.url == "https://hooks.example.com/phi"
    assert hook.body == {
        "task_id": "t-1",
        "agent_id": "a-1",
        "node": "hook",
        "text": "Late carriers on 2026-11-20",
        "data": {"date": "2026-11-20", "late": True, "source": "phi"},
    }


def test_a_failed_delivery_is_a_note_unless_the_node_says_fail() -> None:
    ports_notifier = FakeNotifier(fail_with="Http.HostNotAllowed: hooks.example.com is not on the allow-list")

    def run(document: dict[str, Any]) -> dict[str, Any]:
        ports = fake_ports(snapshot(task_type=document["key"]), lambda r: ToolOutcome(ok=True, result={}))
        ports.notifier = ports_notifier
        graph = compile_definition(validate_definition(document)).compile()
        return graph.invoke(START, graph_config("t", ports))

    state = run(_webhook_workflow())
    assert state.get("failure") is None
    assert state["results"]["hook"]["status"] == "FAILED"
    assert "not on the allow-list" in state["output"]["notes"][0] and "hook" in state["output"]["notes"][0]

    state = run(_webhook_workflow(on_error="fail"))
    assert state["failure"]["error"] == "Notify.DeliveryFailed"
    assert "Node hook" in state["failure"]["cause"] and "allow-list" in state["failure"]["cause"]


def _http_workflow(**settings: Any) -> dict[str, Any]:
    return {
        "key": "carrier_api",
        "name": "Late by carrier from the TMS API",
        "inputs": {"date": {"type": "date", "default": "2026-11-20"}},
        "nodes": [
            {
                "id": "tms",
                "kind": "http",
                "settings": {
                    "url": "https://tms.example.com/api/late",
                    "query": {"day": "{{ inputs.date }}", "limit": 10},
                    "rows": "data.items",
                    **settings,
                },
            },
            {
                "id": "top",
                "kind": "table",
                "settings": {"input": "tms", "ops": [{"op": "top_k", "k": 1, "by": "late"}]},
            },
        ],
        "edges": [["tms", "top"]],
        "output": "top",
    }


def _answer(status: int, content: bytes, content_type: str = "application/json") -> Any:
    def answer(request: HttpFetch) -> HttpFetched:
        return HttpFetched(status=status, content_type=content_type, content=content)

    return answer


ITEMS = json.dumps({"data": {"items": [{"carrier": "DHL", "late": 3}, {"carrier": "UPS", "late": 1, "x": {"a": 1}}]}})


def test_an_http_node_turns_json_records_into_a_table_for_the_next_node() -> None:
    state, ports = _run(_http_workflow(), http=_answer(200, ITEMS.encode()))
    assert state.get("failure") is None, state.get("failure")
    assert state["results"]["tms"] == {
        "columns": ["carrier", "late", "x"],
        "rows": [["DHL", 3, None], ["UPS", 1, '{"a": 1}']],
        "row_count": 2,
    }
    assert state["output"]["rows"] == [["DHL", 3, None]]
    assert isinstance(ports.http, FakeHttp)
    [request] = ports.http.requests
    assert request.method == "GET" and request.params == {"day": "2026-11-20", "limit": "10"}


def test_an_http_node_reads_csv_and_posts_a_filled_body() -> None:
    document = _http_workflow(format="csv", method="POST", body={"day": "{{ inputs.date }}"})
    del document["nodes"][0]["settings"]["rows"]
    state, ports = _run(document, http=_answer(200, b"carrier,late\nDHL,3\nUPS,1\n", "text/csv"))
    assert state["results"]["tms"]["rows"] == [["DHL", "3"], ["UPS", "1"]]
    assert ports.http.requests[0].json_body == {"day": "2026-11-20"}


@pytest.mark.parametrize(
    ("http", "error", "words"),
    [
        (refusing_http("Http.PrivateAddress", "resolves to 10.0.0.5"), "Http.PrivateAddress", "10.0.0.5"),
        (_answer(503, b"{}"), "Http.Status", "HTTP 503"),
        (_answer(200, b"<html>"), "Http.BadPayload", "not JSON"),
        (_answer(200, b'{"data": {}}'), "Http.BadPayload", "'data.items'"),
    ],
)
def test_http_node_failures_name_the_node_and_the_reason(http: Any, error: str, words: str) -> None:
    state, _ = _run(_http_workflow(), http=http)
    assert state["failure"]["error"] == error
    assert "Node tms" in state["failure"]["cause"] and words in state["failure"]["cause"]


@pytest.mark.parametrize(
    ("node", "field", "words"),
    [
        ({"channel": "email", "to": ["ops@example.com"], "subject": "x"}, "settings", "'body' is a required property"),
        (
            {"channel": "email", "to": ["not-an-address"], "subject": "x", "body": "y"},
            "settings.to[0]",
            "does not match",
        ),
        ({"channel": "webhook", "url": "http://hooks.example.com/x"}, "settings.url", "does not match"),
        (
            {"channel": "webhook", "url": "https://h.example.com", "body": "{{ broken"},
            "settings.body",
            "does not parse",
        ),
        ({"channel": "sms", "to": ["a@b.co"]}, "settings.channel", "is not one of"),
    ],
)
def test_notify_settings_errors_name_the_node_and_the_field(node: dict[str, Any], field: str, words: str) -> None:
    document = _webhook_workflow()
    document["nodes"][1]["settings"] = node
    with pytest.raises(InvalidDefinition) as caught:
        validate_definition(document)
    problems = caught.value.details["errors"]
    assert any(p["node"] == "hook" and p["field"] == f"nodes[1].{field}" and words in p["message"] for p in problems), (
        problems
    )


def test_http_settings_errors_name_the_node_and_the_field() -> None:
    document = _http_workflow(url="http://tms.example.com/api", method="GET", body={"a": 1}, timeout_seconds=600)
    with pytest.raises(InvalidDefinition) as caught:
        validate_definition(document)
    fields = {p["field"] for p in caught.value.details["errors"] if p["node"] == "tms"}
    assert {"nodes[0].settings.url", "nodes[0].settings.timeout_seconds"} <= fields, caught.value.details


def test_an_http_answer_with_numbers_past_python_s_digits_or_nul_characters_is_kept_as_text() -> None:
    # A 5,000-digit number had failed Think with a bare ValueError; a NUL and 10**30 would fail storing the state.
    from phi.definitions.payloads import json_table

    body = b'[{"a": ' + b"7" * 5000 + b', "b": "x\\u0000y", "c": ' + str(10**30).encode() + b"}]"
    table = json_table(body, None, 10)
    assert table["rows"] == [["7" * 5000, "x\ufffdy", str(10**30)]]
