"""The daily warehouse template customised by a customer through the API, run end to end with the local agent
as its own process: a PostgreSQL warehouse (a database of the embedded PostgreSQL) whose tables and columns
have other names, and a customer without database access who sends CSV and Excel exports. Only the definition
is edited (PUT a new version); the figures are those of the independent reference SQL on the source data."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.api import ApiSession
from tests.support.e2e import StartAgent
from tests.support.template_variants import (
    TIMESTAMP_COLUMNS,
    export_definition,
    renamed_definition,
    renamed_rows,
    write_exports,
)
from tests.support.warehouse_reference import reference_figures

pytestmark = pytest.mark.e2e

DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def source_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our own dataset: another seed, volume and run of incidents than the e2e sample."""
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    path = tmp_path_factory.mktemp("variants") / "source.sqlite"
    generate_sample_warehouse(path, days=5, end_date=DAY, seed=20261120)
    return path


def _run(session: ApiSession, agent: dict[str, Any]) -> dict[str, Any]:
    run = session.ok(
        "POST",
        f"/agents/{agent['id']}/run-task",
        json={"type": "DAILY_WAREHOUSE_REPORT", "input": {"date": DAY.isoformat()}},
    )
    return session.wait_for_task(run["task_id"], timeout=300)


def _edit(session: ApiSession, agent: dict[str, Any], change: Any, reason: str) -> dict[str, Any]:
    base = f"/agents/{agent['id']}/workflows/DAILY_WAREHOUSE_REPORT"
    current = session.ok("GET", base)
    assert current["version"]["source"] == "template"
    body = {"definition": change(current["definition"]), "reason": reason, "based_on": current["current_version"]}
    edited: dict[str, Any] = session.ok("PUT", base, json=body)
    assert edited["current_version"] == current["current_version"] + 1
    return edited


def _assert_reference_figures(task: dict[str, Any], source: Path) -> None:
    assert task["status"] == "SUCCEEDED", task["error"]
    kpis = task["output"]["kpis"]
    expected = reference_figures(source, DAY)
    assert expected["lines_picked"] > 0 and expected["late_orders"] > 0
    assert kpis["throughput"]["orders_shipped"] == expected["orders_shipped"]
    assert kpis["throughput"]["lines_picked"] == expected["lines_picked"]
    assert kpis["throughput"]["units_picked"] == pytest.approx(expected["units_picked"])
    assert kpis["late"]["late_count"] == expected["late_orders"]
    assert kpis["backlog"]["orders"] == expected["backlog_orders"]
    assert {p["picker_id"]: p["lines"] for p in kpis["pickers"]} == expected["picker_lines"]
    assert not [a for a in kpis["anomalies"] if a["code"] == "DATA_QUALITY"]
    assert f"{expected['lines_picked']:,}" in task["output"]["markdown"]


def test_the_template_as_shipped_gives_the_reference_figures_on_a_second_dataset(
    new_user: ApiSession, source_warehouse: Path, start_local_agent: StartAgent
) -> None:
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, f"sqlite:///{source_warehouse}")

    task = _run(new_user, agent)

    _assert_reference_figures(task, source_warehouse)
    version = new_user.ok("GET", f"/agents/{agent['id']}/workflows/DAILY_WAREHOUSE_REPORT")
    assert version["current_version"] == 1 and version["version"]["source"] == "template"
    assert task["output"]["workflow"]["ran"][-1] == "report"


def _postgres_warehouse(admin_dsn: str, source: Path) -> str:
    """A database of the embedded PostgreSQL holding the source data under other names (schema wms), read by
    a login that may only read it; its URL for the local agent."""
    import psycopg
    from psycopg import sql

    suffix = uuid.uuid4().hex[:8]
    database, reader, password = f"wms_{suffix}", f"wms_reader_{suffix}", uuid.uuid4().hex
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(reader), password))
    parts = urlsplit(admin_dsn)
    with psycopg.connect(urlunsplit(parts._replace(path=f"/{database}")), autocommit=True) as db:
        db.execute("CREATE SCHEMA wms")
        for table, (columns, rows) in renamed_rows(source).items():
            types = ", ".join(f"{c} {'timestamp' if c in TIMESTAMP_COLUMNS else 'text'}" for c in columns)
            db.execute(f"CREATE TABLE wms.{table} ({types})")
            with db.cursor().copy(f"COPY wms.{table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([None if v is None else str(v) for v in row])
        db.execute(sql.SQL("GRANT USAGE ON SCHEMA wms TO {}").format(sql.Identifier(reader)))
        db.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA wms TO {}").format(sql.Identifier(reader)))
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{reader}:{password}@{host}", path=f"/{database}"))


def test_a_postgresql_warehouse_with_other_names_works_by_editing_only_the_definition(
    new_user: ApiSession, stack: Any, source_warehouse: Path, start_local_agent: StartAgent
) -> None:
    # Given a PostgreSQL warehouse whose tables and columns have other names than the template expects
    url = _postgres_warehouse(stack.info.database_url, source_warehouse)
    agent = new_user.create_agent()
    start_local_agent(new_user, agent, url)

    # When the template runs as shipped, it fails naming the missing table
    first = _run(new_user, agent)
    assert first["status"] == "FAILED"
    assert first["error"]["error"] == "Tool.SqlError" and "does not exist" in first["error"]["cause"]

    # And when the customer edits only the definition: the SQL of the three queries, and the column mapping
    edited = _edit(new_user, agent, lambda d: renamed_definition(d, "wms."), "Our tables live in wms")
    diff = new_user.ok(
        "GET",
        f"/agents/{agent['id']}/workflows/DAILY_WAREHOUSE_REPORT/diff",
        params={"from": 1, "to": edited["current_version"]},
    )
    assert {c["path"] for c in diff["changes"]} >= {
        "/nodes/orders/settings/sql",
        "/nodes/picks/settings/sql",
        "/nodes/shipments/settings/sql",
        "/nodes/kpis/settings/column_mapping",
    }

    # Then the report runs on it with the reference figures, recording the edited version
    task = _run(new_user, agent)
    _assert_reference_figures(task, source_warehouse)
    assert task["workflow_version_id"] != first["workflow_version_id"]


def test_csv_and_excel_exports_read_through_file_read_give_the_same_report(
    new_user: ApiSession, tmp_path: Path, source_warehouse: Path, start_local_agent: StartAgent
) -> None:
    # Given a customer without database access: orders and shipments as CSV, picks as Excel, in a folder
    exports = write_exports(source_warehouse, tmp_path / "exports")
    agent = new_user.create_agent(tools={"file": {}})
    start_local_agent(new_user, agent, "sqlite://", local={"tools": {"file.read": {"base_dir": str(exports)}}})

    # When the definition reads the exports instead of querying (file.read nodes, their headers mapped)
    _edit(new_user, agent, export_definition, "We send exports")
    task = _run(new_user, agent)

    # Then the report has the reference figures, read from the files by the local agent
    _assert_reference_figures(task, source_warehouse)
    requested = [e for e in task["events"] if e["type"] == "TOOL_REQUESTED"]
    assert [e["data"]["tool"] for e in requested] == ["file.read"] * 3
