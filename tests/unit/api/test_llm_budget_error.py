"""A spent LLM budget reaches an API client as 429 llm_budget_exhausted with Retry-After, from the one mapping."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient

from phi.api.errors import install_error_handlers
from phi.llm.accounting import budget_error, month_bounds


def test_a_spent_budget_answers_429_with_when_it_resets() -> None:
    now = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/classify")
    def classify() -> None:
        raise budget_error(budget=1000, used=1003, now=now)

    response = TestClient(app).get("/classify")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "3600"
    error = response.json()["error"]
    assert error["code"] == "llm_budget_exhausted"
    assert "1,003 of 1,000 tokens used" in error["message"] and "2027-01-01" in error["message"]
    assert error["details"]["resets_at"] == "2027-01-01T00:00:00+00:00"


def test_months_are_utc_calendar_months() -> None:
    start, end = month_bounds(datetime(2026, 2, 14, 12, 30, tzinfo=UTC))
    assert (start.isoformat(), end.isoformat()) == ("2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00")
