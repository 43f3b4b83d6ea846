"""db.query picks the SQL written for its database (`sql_variants`), else the portable `sql`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from phi_agent.config import DbQuerySettings
from phi_agent.errors import ToolError
from phi_agent.messages import ToolRequest, parse_request
from phi_agent.tools.db_query import DbQueryArgs, DbQueryTool


@pytest.fixture
def sqlite_tool(tmp_path: Path) -> DbQueryTool:
    path = tmp_path / "one.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x TEXT)")
    connection.execute("INSERT INTO t VALUES ('row')")
    connection.commit()
    connection.close()
    return DbQueryTool(DbQuerySettings(url_env="UNUSED"), f"sqlite:///{path}", pool_size=1)


def first_value(tool: DbQueryTool, args: dict[str, object]) -> object:
    with tool.open(args, None) as result:
        return next(iter(result.rows))[0]


def test_sqlite_runs_its_variant_through_the_guard(sqlite_tool: DbQueryTool) -> None:
    args = {"sql": "SELECT 'portable' FROM t", "sql_variants": {"sqlite": "SELECT typeof(x) FROM t WHERE x GLOB 'r*'"}}
    assert first_value(sqlite_tool, args) == "text"
    refused = {"sql": "SELECT 1", "sql_variants": {"sqlite": "DELETE FROM t"}}
    with pytest.raises(ToolError) as error:
        first_value(sqlite_tool, refused)
    assert error.value.error == "Tool.NotAllowed"


def test_a_database_without_a_variant_runs_the_portable_sql(sqlite_tool: DbQueryTool) -> None:
    args = {"sql": "SELECT 'portable' FROM t", "sql_variants": {"postgresql": "SELECT 'pg' FROM t"}}
    assert first_value(sqlite_tool, args) == "portable"


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [("postgresql", "portable"), ("sqlite", "lite"), ("mariadb", "my"), ("mysql", "my"), ("mssql", "portable")],
)
def test_the_variant_chosen_per_dialect(dialect: str, expected: str) -> None:
    args = DbQueryArgs.model_validate({"sql": "portable", "sql_variants": {"sqlite": "lite", "mysql": "my"}})
    assert args.sql_for(dialect) == expected


@pytest.mark.parametrize(
    ("variants", "named"),
    [({"oracle": "SELECT 1 FROM dual"}, "args.sql_variants.oracle"), ({"sqlite": ""}, "args.sql_variants.sqlite")],
)
def test_unknown_dialects_and_empty_variants_are_refused_by_name(
    sqlite_tool: DbQueryTool, variants: dict[str, str], named: str
) -> None:
    with pytest.raises(ToolError) as error:
        first_value(sqlite_tool, {"sql": "SELECT 1", "sql_variants": variants})
    assert error.value.error == "Tool.BadRequest"
    assert named in error.value.cause


def test_the_message_carries_variants_beside_args_and_hands_them_to_the_tool() -> None:
    body = {
        "v": 1, "task_token": "t", "task_id": "1", "tool_call_id": "c", "org_id": "o", "agent_id": "a",
        "tool": "db.query", "args": {"sql": "SELECT 1"}, "sql_variants": {"sqlite": "SELECT 2"},
    }  # fmt: skip
    request = parse_request(json.dumps(body))
    assert isinstance(request, ToolRequest)
    assert request.args == {"sql": "SELECT 1"}  # what an agent without the field runs
    assert request.tool_args() == {"sql": "SELECT 1", "sql_variants": {"sqlite": "SELECT 2"}}
    body.pop("sql_variants")
    plain = parse_request(json.dumps(body))
    assert isinstance(plain, ToolRequest) and plain.tool_args() == {"sql": "SELECT 1"}
