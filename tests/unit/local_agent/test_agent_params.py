"""Typed `db.query` parameters: {"$datetime": …} and {"$date": …} decoded per database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from phi_agent.errors import ToolError
from phi_agent.tools.params import check_short_texts, decode_params, match_placeholders


def test_plain_values_pass_through() -> None:
    params = {"s": "x", "i": 3, "f": 1.5, "b": True, "n": None}
    assert decode_params(params, "postgresql") == params
    assert decode_params(None, "sqlite") == {}


def test_datetime_is_aware_for_postgresql() -> None:
    decoded = decode_params({"start": {"$datetime": "2026-11-20T00:00:00+01:00"}}, "postgresql")["start"]
    assert decoded == datetime(2026, 11, 20, tzinfo=timezone(timedelta(hours=1)))
    assert decoded.utcoffset() == timedelta(hours=1)
    z = decode_params({"end": {"$datetime": "2026-11-21T00:00:00Z"}}, "postgresql")["end"]
    assert z == datetime(2026, 11, 21, tzinfo=UTC)


def test_datetime_for_sqlite_is_iso_text_in_the_given_offset() -> None:
    params = {"a": {"$datetime": "2026-11-20T00:00:00+01:00"}, "b": {"$datetime": "2026-11-20 06:30:00.250Z"}}
    assert decode_params(params, "sqlite") == {
        "a": "2026-11-20T00:00:00+01:00",
        "b": "2026-11-20T06:30:00.250000+00:00",
    }


@pytest.mark.parametrize("dialect", ["mysql", "mssql"])
def test_datetime_for_drivers_without_offsets_is_the_same_instant_in_utc(dialect: str) -> None:
    decoded = decode_params({"a": {"$datetime": "2026-11-20T00:00:00+01:00"}}, dialect)["a"]
    assert decoded == datetime(2026, 11, 19, 23, 0) and decoded.tzinfo is None


def test_date() -> None:
    assert decode_params({"d": {"$date": "2026-11-20"}}, "postgresql") == {"d": date(2026, 11, 20)}
    assert decode_params({"d": {"$date": "2026-11-20"}}, "sqlite") == {"d": "2026-11-20"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"$datetime": "2026-11-20T00:00:00"}, "no UTC offset"),
        ({"$datetime": "yesterday"}, "not an ISO-8601"),
        ({"$datetime": 1700000000}, "must be an ISO-8601 string"),
        ({"$date": "2026-11-20T00:00:00Z"}, "not a date"),
        ({"$date": "20261120"}, "not a date"),
        ({"$time": "10:00"}, "unknown typed value '$time'"),
        ({"$datetime": "2026-11-20T00:00:00Z", "$date": "2026-11-20"}, "must be exactly"),
        ({"nested": 1}, "must be exactly"),
        ([1, 2], "unsupported value of type list"),
    ],
)
def test_bad_typed_values_are_bad_requests_naming_the_parameter(value: object, reason: str) -> None:
    with pytest.raises(ToolError) as caught:
        decode_params({"day_start": value}, "postgresql")
    assert caught.value.error == "Tool.BadRequest"
    assert caught.value.cause.startswith("args.params.day_start: ") and reason in caught.value.cause


@pytest.mark.parametrize(
    ("dialect", "value", "reason"),
    [
        ("mysql", {"$datetime": "9999-12-31T23:59:59-01:00"}, "out of range for mysql"),
        ("mssql", {"$datetime": "0001-01-01T00:00:00+01:00"}, "out of range for mssql"),
        ("sqlite", 10**30, "does not fit in a SQLite integer"),
        ("sqlite", -(2**63) - 1, "does not fit in a SQLite integer"),
    ],
)
def test_values_the_database_cannot_hold_are_bad_requests(dialect: str, value: object, reason: str) -> None:
    with pytest.raises(ToolError) as caught:
        decode_params({"t": value}, dialect)
    assert caught.value.error == "Tool.BadRequest"
    assert caught.value.cause.startswith("args.params.t: ") and reason in caught.value.cause


def test_the_largest_sqlite_integers_pass() -> None:
    assert decode_params({"a": 2**63 - 1, "b": -(2**63)}, "sqlite") == {"a": 2**63 - 1, "b": -(2**63)}
    assert decode_params({"a": 10**30}, "postgresql") == {"a": 10**30}


def test_params_must_name_exactly_the_placeholders() -> None:
    match_placeholders({"a": 1}, frozenset({"a"}))
    match_placeholders({}, frozenset())
    with pytest.raises(ToolError) as missing:
        match_placeholders({"a": 1}, frozenset({"a", "b"}))
    assert missing.value.error == "Tool.BadRequest"
    assert missing.value.cause == "args.params: no value for :b (the query uses :a, :b)"
    with pytest.raises(ToolError) as unused:
        match_placeholders({"a": 1, "p": "x"}, frozenset({"a"}))
    assert unused.value.error == "Tool.BadRequest"
    assert unused.value.cause == "args.params.p: the query has no placeholder :p (it uses :a)"
    with pytest.raises(ToolError) as none:
        match_placeholders({"p": "x"}, frozenset())
    assert none.value.cause == "args.params.p: the query has no placeholder :p (it uses no parameters)"


def test_values_standing_for_patterns_or_searched_texts_are_at_most_the_limit() -> None:
    check_short_texts({"p": "x" * 10, "n": 12345678901, "other": "y" * 50}, frozenset({"p", "n"}), 10)
    check_short_texts({"p": None}, frozenset({"p"}), 10)
    with pytest.raises(ToolError) as caught:
        check_short_texts({"p": "x" * 11}, frozenset({"p"}), 10)
    assert caught.value.error == "Tool.BadRequest"
    assert caught.value.cause == (
        "args.params.p: it stands for a LIKE pattern or a searched text, which may be at most 10 characters long "
        "(11 given)"
    )
