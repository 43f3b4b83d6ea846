"""The console's tool settings fields, made from a tool's JSON Schema, and what a form's values become."""

from __future__ import annotations

import uuid
from typing import Any

from phi.api.console.tool_settings import config_from_form, field_values, tool_fields
from phi.domain.models import Tool

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["hosts"],
    "properties": {
        "hosts": {"type": "array", "items": {"type": "string", "format": "hostname"}},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5, "description": "Share sampled."},
        "retries": {"type": "integer", "minimum": 0, "maximum": 5},
        "headers": {"type": "object"},
        "region": {"type": "string", "pattern": "^[a-z]+-[a-z]+-[0-9]$"},
    },
}
TOOL = Tool(id=uuid.uuid4(), key="probe", name="Probe", runs_on="CLOUD", config_schema=SCHEMA, available=True)


def test_each_property_is_a_field_of_its_kind_with_its_bounds_and_default_in_the_hint() -> None:
    fields = {f.name: f for f in tool_fields(TOOL)}
    assert {name: f.kind for name, f in fields.items()} == {
        "hosts": "list",
        "ratio": "number",
        "retries": "integer",
        "headers": "json",
        "region": "text",
    }
    assert fields["ratio"].hint == "Share sampled; at least 0, at most 1; empty for the default, 0.5"
    assert fields["hosts"].required and fields["hosts"].form_name == "cfg-probe-hosts"


def test_form_values_become_the_configuration_and_empty_fields_are_left_out() -> None:
    form = {
        "cfg-probe-hosts": "a.example.com,  b.example.com;c.example.com",
        "cfg-probe-ratio": "0.25",
        "cfg-probe-headers": '{"X-Site": "York"}',
        "cfg-probe-retries": " ",
    }
    config, errors = config_from_form(TOOL, form)
    assert errors == {}
    assert config == {
        "hosts": ["a.example.com", "b.example.com", "c.example.com"],
        "ratio": 0.25,
        "headers": {"X-Site": "York"},
    }
    # and shown again as they were typed, for the next change
    shown = field_values([TOOL], {"probe": config})
    assert shown["cfg-probe-hosts"] == "a.example.com, b.example.com, c.example.com"
    assert shown["cfg-probe-headers"] == '{"X-Site": "York"}'


def test_every_wrong_field_is_named_in_words() -> None:
    form = {
        "cfg-probe-hosts": "",
        "cfg-probe-ratio": "nan",
        "cfg-probe-retries": "9",
        "cfg-probe-headers": "[" * 50_000,
        "cfg-probe-region": "Europe/London",
    }
    _, errors = config_from_form(TOOL, form)
    assert errors == {
        "cfg-probe-hosts": "Hosts: needed with Probe.",
        "cfg-probe-ratio": "Ratio: enter a number, e.g. 0.5.",
        "cfg-probe-retries": "Retries: at most 5.",
        "cfg-probe-headers": "Headers: at most 16,000 characters.",
        "cfg-probe-region": "Region: 'Europe/London' is not a valid value here.",
    }
    _, nested = config_from_form(TOOL, {"cfg-probe-hosts": "a.example.com", "cfg-probe-headers": "[" * 15_000})
    assert nested == {"cfg-probe-headers": "Headers: nested too deeply."}
    _, bad_host = config_from_form(TOOL, {"cfg-probe-hosts": "a.example.com, not a host!"})
    assert bad_host == {"cfg-probe-hosts": "Hosts: “host!” is not valid here."}


def test_a_whole_number_field_reads_groups_of_three_only_and_no_number_is_too_long_to_say_why() -> None:
    counter = Tool(
        id=uuid.uuid4(),
        key="count",
        name="Count",
        runs_on="CLOUD",
        config_schema={"type": "object", "properties": {"rows": {"type": "integer"}}},
        available=True,
    )
    for text, expected in (("1,500", 1500), ("2_000", 2000), ("-3", -3), ("1,234,567", 1234567)):
        assert config_from_form(counter, {"cfg-count-rows": text}) == ({"rows": expected}, {}), text
    for text in ("1,5", "9" * 400, "1e3", "2.0"):
        _, errors = config_from_form(TOOL, {"cfg-probe-hosts": "a.example.com", "cfg-probe-retries": text})
        assert errors == {"cfg-probe-retries": "Retries: enter a whole number, e.g. 100000."}, text
    _, errors = config_from_form(TOOL, {"cfg-probe-hosts": "a.example.com", "cfg-probe-headers": "1" * 5000})
    assert errors == {"cfg-probe-headers": "Headers: holds a number too long to read."}
    _, errors = config_from_form(TOOL, {"cfg-probe-hosts": "a.example.com", "cfg-probe-headers": "{'a': 1}"})
    said = "Headers: not valid JSON (Expecting property name enclosed in double quotes at character 2)."
    assert errors == {"cfg-probe-headers": said}


def test_a_stored_setting_the_form_has_no_field_for_is_kept() -> None:
    free_form = Tool(
        id=uuid.uuid4(), key="cam", name="Cam", runs_on="LOCAL", config_schema={"type": "object"}, available=True
    )
    config, errors = config_from_form(free_form, {}, {"stream": "rtsp://dock-4"})
    assert (config, errors) == ({"stream": "rtsp://dock-4"}, {})
