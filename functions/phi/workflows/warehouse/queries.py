"""The SQL of the daily warehouse report, as its template defines it (the `orders`, `picks` and `shipments`
nodes of phi/definitions/templates/daily_warehouse_report.json: the one place the queries are written).

Portable SQL (SQLite, PostgreSQL, MySQL, SQL Server) with named parameters. Each query fetches a window of
instants wider than the report day, [:window_start, :window_end), bound as typed time-zone-aware parameters
(`{"$datetime": "<ISO-8601 with offset>"}`: a native timestamp for PostgreSQL/MySQL/SQL Server, ISO text for
SQLite). The window is wide enough to hold every row of the day whatever form the database stores its
timestamps in (see `phi.workflows.timeframes`); the cloud then parses each timestamp and keeps the day exactly.
Each query returns a few days' working set, never the history.

A window compares timestamps, and SQLite compares whatever the application stored: a NULL, a number (every
number sorts before every text) or a text not shaped like an ISO date (`03/12/2026 14:05`, `Nov 20 2026`) is
never inside it. So each node also carries a SQLite variant (`sql_variants.sqlite`, run instead of `sql` by an
agent on SQLite) that returns those rows too, whatever their date, and the cloud counts them as unreadable; the
portable `sql` returns rows whose window timestamp is NULL, so they are counted on every database. MySQL and
MariaDB compare a VARCHAR timestamp as text and a number as a number, so their variant (`sql_variants.mysql`)
returns rows whose value, as text, does not start like an ISO date, and MySQL's zero date. Here for the tests and
tools that run the template's queries outside a workflow.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from phi.workflows.timeframes import ReportDay, iso_instant

DATASETS = ("orders", "picks", "shipments")
TEMPLATE_KEY = "daily_warehouse_report"


class QuerySpec(BaseModel):
    sql: str
    sql_variants: dict[str, str] = {}
    params: dict[str, Any]

    def args(self) -> dict[str, Any]:
        """The node's `db.query` arguments, as the local agent receives them."""
        return {"sql": self.sql, "sql_variants": self.sql_variants, "params": self.params}


def datetime_param(moment: Any) -> dict[str, str]:
    """A typed parameter the local agent binds as a time-zone-aware timestamp (ISO text for SQLite)."""
    return {"$datetime": iso_instant(moment)}


def window_params(day: ReportDay) -> dict[str, Any]:
    return {"window_start": datetime_param(day.query_start), "window_end": datetime_param(day.query_end)}


def _settings(dataset: str) -> dict[str, Any]:
    from phi.definitions.templates import get_template

    nodes = {n["id"]: n for n in get_template(TEMPLATE_KEY).definition["nodes"]}
    return dict(nodes[dataset]["settings"])


def template_sql(dataset: str, dialect: str | None = None) -> str:
    """The SQL the template's node of that name runs on the database (a SQLAlchemy dialect name; None: the
    portable text)."""
    settings = _settings(dataset)
    return str((settings.get("sql_variants") or {}).get(dialect) or settings["sql"])


def default_queries(day: ReportDay) -> dict[str, QuerySpec]:
    params = window_params(day)
    return {
        name: QuerySpec(
            sql=str(_settings(name)["sql"]),
            sql_variants=dict(_settings(name).get("sql_variants") or {}),
            params=dict(params),
        )
        for name in DATASETS
    }
