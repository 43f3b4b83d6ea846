"""The daily warehouse template on data of other shapes, customised by editing only its definition: a second
dataset of our own, a database whose tables and columns have other names, and CSV/Excel exports read through
the local agent's real file.read. Figures are checked against SQL written independently
(tests/support/warehouse_reference.py) on the original sample."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from phi.definitions.document import parse_stored, validate_definition
from phi.definitions.templates import get_template
from phi.workflows.compiler import compile_definition
from phi.workflows.contracts import ToolOutcome, ToolRequest
from phi.workflows.ports import graph_config
from tests.support.fake_ports import fake_ports, snapshot, sqlite_tools
from tests.support.template_variants import export_definition, rename_sqlite, renamed_definition, write_exports
from tests.support.warehouse_reference import reference_figures

DAY = date(2026, 11, 20)
START = {"task_id": "t", "org_id": "o", "agent_id": "a"}


@pytest.fixture(scope="module")
def other_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second dataset: another seed, volume and run of incidents than the e2e sample (seed 7)."""
    from phi.workflows.warehouse.sample_data import generate_sample_warehouse

    path = tmp_path_factory.mktemp("other") / "other.sqlite"
    generate_sample_warehouse(path, days=5, end_date=DAY, seed=20261120)
    return path


def _template() -> dict[str, Any]:
    return copy.deepcopy(get_template("daily_warehouse_report").definition)


def _run(definition: dict[str, Any], answer: Any) -> dict[str, Any]:
    ports = fake_ports(snapshot(task_input={"date": DAY.isoformat()}), answer)
    state = compile_definition(validate_definition(definition)).compile().invoke(START, graph_config("t", ports))
    assert state.get("failure") is None, state.get("failure")
    output: dict[str, Any] = state["output"]
    return output


def _assert_reference_figures(kpis: dict[str, Any], reference_db: Path) -> None:
    expected = reference_figures(reference_db, DAY)
    assert kpis["throughput"]["orders_shipped"] == expected["orders_shipped"]
    assert kpis["throughput"]["lines_picked"] == expected["lines_picked"]
    assert kpis["throughput"]["units_picked"] == pytest.approx(expected["units_picked"])
    assert kpis["late"]["late_count"] == expected["late_orders"]
    assert kpis["backlog"]["orders"] == expected["backlog_orders"]
    assert {p["picker_id"]: p["lines"] for p in kpis["pickers"]} == expected["picker_lines"]
    assert expected["lines_picked"] > 0 and expected["late_orders"] > 0  # a day with something to count


def test_the_template_gives_the_reference_figures_on_a_second_dataset(other_warehouse: Path) -> None:
    output = _run(_template(), sqlite_tools(other_warehouse))
    _assert_reference_figures(output["kpis"], other_warehouse)
    assert not [a for a in output["kpis"]["anomalies"] if a["code"] == "DATA_QUALITY"]


def test_a_database_with_other_names_works_by_editing_only_the_definition(
    other_warehouse: Path, tmp_path: Path
) -> None:
    renamed = rename_sqlite(other_warehouse, tmp_path / "wms.sqlite")

    # The template as shipped fails, naming the missing table
    ports = fake_ports(snapshot(task_input={"date": DAY.isoformat()}), sqlite_tools(renamed))
    state = compile_definition(parse_stored(_template())).compile().invoke(START, graph_config("t0", ports))
    assert state["failure"]["error"] == "Tool.SqlError" and "no such table" in state["failure"]["cause"]

    # Edited: new SQL in the three query nodes, the customer's columns mapped on the kpis node
    output = _run(renamed_definition(_template()), sqlite_tools(renamed))
    _assert_reference_figures(output["kpis"], other_warehouse)
    assert {p["picker_name"] for p in output["kpis"]["pickers"]} != {None}


def _file_tools(folder: Path) -> Any:
    """file.read answered by the local agent's own tool, as on the customer's machine."""
    from phi_agent.config import FileReadSettings
    from phi_agent.tools.base import json_safe
    from phi_agent.tools.file_read import FileReadTool

    tool = FileReadTool(FileReadSettings(base_dir=folder))

    def answer(request: ToolRequest) -> ToolOutcome:
        assert request.tool == "file.read"
        with tool.open(request.args, None) as result:
            rows = [[json_safe(value) for value in row] for row in result.rows]
            return ToolOutcome(ok=True, result={"columns": result.columns, "rows": rows, "row_count": len(rows)})

    return answer


def test_csv_and_excel_exports_through_file_read_give_the_same_figures(other_warehouse: Path, tmp_path: Path) -> None:
    write_exports(other_warehouse, tmp_path / "exports")
    edited = export_definition(_template())

    output = _run(edited, _file_tools(tmp_path / "exports"))

    _assert_reference_figures(output["kpis"], other_warehouse)
    # whole exports: the other days' rows are not the day's, and not a data problem
    assert not [a for a in output["kpis"]["anomalies"] if a["code"] == "DATA_QUALITY"]
    assert all(q["outside_window"] == 0 for q in output["kpis"]["data_quality"])
