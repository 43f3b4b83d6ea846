"""The SQL of the daily warehouse report, as its template defines it (the `orders`, `picks` and `shipments`
nodes of phi/definitions/templates/daily_warehouse_report.json: the one place the queries are written).

Portable SQL (SQLite, PostgreSQL, MySQL, SQL Server) with named parameters. Each query fetches a window of
instants wider than the report day, [:window_start, :window_end), bound as typed time-zone-aware parameters
(`{"$datetime": "<ISO-8601 with offset>"}`: a native timestamp for PostgreSQL/MySQL/SQL Server, ISO text for
SQLite). The window is wide enough to hold every row of the day whatever form the database stores its
timestamps in (see `phi.workflows.timeframes`); the cloud then parses each timestamp and keeps the day exactly.
Each query returns a few days' working set, never the history. Here for the tests and tools that run the
template's queries outside a workflow.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from phi.workflows.timeframes import ReportDay, iso_instant

DATASETS = ("orders", "picks", "shipments")
TEMPLATE_KEY = "daily_warehouse_report"


class QuerySpec(BaseModel):
    sql: str
    params: dict[str, Any]


def datetime_param(moment: Any) -> dict[str, str]:
    """A typed parameter the local agent binds as a time-zone-aware timestamp (ISO text for SQLite)."""
    return {"$datetime": iso_instant(moment)}


def window_params(day: ReportDay) -> dict[str, Any]:
    return {"window_start": datetime_param(day.query_start), "window_end": datetime_param(day.query_end)}


def template_sql(dataset: str) -> str:
    """The SQL the template's node of that name sends."""
    from phi.definitions.templates import get_template

    nodes = {n["id"]: n for n in get_template(TEMPLATE_KEY).definition["nodes"]}
    return str(nodes[dataset]["settings"]["sql"])


def default_queries(day: ReportDay) -> dict[str, QuerySpec]:
    params = window_params(day)
    return {name: QuerySpec(sql=template_sql(name), params=dict(params)) for name in DATASETS}
