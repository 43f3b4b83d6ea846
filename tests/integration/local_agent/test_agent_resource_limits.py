"""Resource limits of the local agent's tools on real PostgreSQL, SQLite and real files: memory held before the
byte caps are checked, temporary files on the database server, CSV detection and logical rows, workbook parts."""

from __future__ import annotations

import random
import string
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from openpyxl import Workbook
from sqlalchemy import make_url

from phi_agent.checks import CheckReport, _check_tools
from phi_agent.config import DbQuerySettings, FileReadSettings
from phi_agent.errors import ToolError
from phi_agent.tools.db_query import MAX_JSON_DEPTH, DbQueryTool
from phi_agent.tools.file_read import FileReadTool
from phi_agent.tools.registry import ToolRegistry
from tests.support.memory import peaks_in_child

PLAIN_READER = "phi_limits_reader"
BOUNDED_READER = "phi_limits_bounded_reader"


def _drain(tool: DbQueryTool | FileReadTool, args: dict[str, Any], timeout: float | None = None) -> list[list[Any]]:
    with tool.open(args, timeout) as result:
        return [list(row) for row in result.rows]


def _refusal(tool: DbQueryTool | FileReadTool, args: dict[str, Any], timeout: float | None = None) -> ToolError:
    with pytest.raises(ToolError) as caught:
        _drain(tool, args, timeout)
    return caught.value


@pytest.fixture(scope="module")
def reader_urls(postgres_url: str) -> dict[str, str]:
    """A plain read-only login, and one set up as the README says (its own temp_file_limit)."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        for role in (PLAIN_READER, BOUNDED_READER):
            admin.execute(f"DROP ROLE IF EXISTS {role}")
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        admin.execute(f"ALTER ROLE {BOUNDED_READER} SET temp_file_limit = '1MB'")
    return {
        role: make_url(postgres_url).set(username=role, password="pw").render_as_string(hide_password=False)
        for role in (PLAIN_READER, BOUNDED_READER)
    }


@pytest.fixture
def pg_reader(reader_urls: dict[str, str]) -> Iterator[DbQueryTool]:
    settings = DbQuerySettings(
        url_env="X", statement_timeout_seconds=30, max_result_bytes=256 * 1024, max_row_bytes=64 * 1024
    )
    tool = DbQueryTool(settings, reader_urls[PLAIN_READER], 1)
    yield tool
    tool.dispose()


# What a tool refusal costs, measured alone in a fresh interpreter (tests.support.memory says why).
_REFUSAL_SETUP = """
from phi_agent.config import DbQuerySettings, FileReadSettings
from phi_agent.tools.db_query import DbQueryTool
from phi_agent.tools.file_read import FileReadTool
from phi_agent.errors import ToolError

def refusal(tool, args):
    try:
        with tool.open(args, None) as result:
            for _ in result.rows:
                pass
    except ToolError as error:
        return (error.error, error.cause)
    return None
"""


def test_postgres_fetches_no_more_rows_than_the_byte_limits_allow(reader_urls: dict[str, str]) -> None:
    # 1,000 small rows, then rows of 20 kB (each well under the 64 KiB row limit): the 256 KiB result limit
    # trips after a dozen of them, and the driver must not have loaded a large batch of them first.
    sql = (
        "WITH pad AS (SELECT string_agg('x', '') AS text FROM generate_series(1, 20000)) "
        "SELECT g, CASE WHEN g > 1000 THEN pad.text END AS pad FROM pad, generate_series(1, 3000) AS g"
    )
    tool = (
        f"DbQueryTool(DbQuerySettings(url_env='X', statement_timeout_seconds=30, max_result_bytes=256 * 1024, "
        f"max_row_bytes=64 * 1024), {reader_urls[PLAIN_READER]!r}, 1)"
    )
    # The connection is opened (and the pool filled) before the measured call.
    setup = _REFUSAL_SETUP + f"\ntool = {tool}\nrefusal(tool, {{'sql': 'SELECT 1 AS one'}})\n"
    (measured,) = peaks_in_child(setup, [f"refusal(tool, {{'sql': {sql!r}}})"])
    assert measured.value is not None and "Tool.ResultTooLarge" in measured.value and "262144 bytes" in measured.value
    # A batch of 1,000 such rows is 20 MB; the limits allow 4 rows per fetch (80 kB) plus the result (256 KiB).
    assert measured.peak < 6 * 1024 * 1024, f"{measured.peak / 1e6:.1f} MB held reading a result capped at 256 KiB"


def _nested_json(depth: int, inner: str = "", cast: str = "jsonb") -> str:
    brackets = "(SELECT string_agg('{0}', '') FROM generate_series(1, {1}))"
    opening, closing = brackets.format("[", depth), brackets.format("]", depth)
    return f"SELECT ({opening} || '{inner}' || {closing})::{cast} AS j"


def test_deeply_nested_json_from_postgres_is_a_readable_refusal(pg_reader: DbQueryTool) -> None:
    deep = _refusal(pg_reader, {"sql": _nested_json(5000)})
    assert deep.error == "Tool.ResultTooLarge" and f"nested more than {MAX_JSON_DEPTH} levels" in deep.cause
    # Deep enough to overflow the recursive measuring of a row, shallow enough for json.loads.
    medium = _refusal(pg_reader, {"sql": _nested_json(600, cast="json")})
    assert medium.error == "Tool.ResultTooLarge"
    # At the limit (what the cloud reads), and one level more.
    rows = _drain(pg_reader, {"sql": _nested_json(MAX_JSON_DEPTH, "7")})
    value = rows[0][0]
    for _ in range(MAX_JSON_DEPTH):
        value = value[0]
    assert value == 7
    assert _refusal(pg_reader, {"sql": _nested_json(MAX_JSON_DEPTH + 1, "7")}).error == "Tool.ResultTooLarge"
    assert _drain(pg_reader, {"sql": "SELECT jsonb_build_object('sku', 'A', 'qty', 3) AS j"}) == [
        [{"sku": "A", "qty": 3}]
    ]


def test_temp_file_limit_is_the_logins_and_check_reports_it(reader_urls: dict[str, str]) -> None:
    # A plain login cannot bound its own temporary files: only a superuser may set temp_file_limit.
    with psycopg.connect(reader_urls[PLAIN_READER]) as plain, pytest.raises(psycopg.errors.InsufficientPrivilege):
        plain.execute("SET LOCAL temp_file_limit = '1MB'")
    settings = DbQuerySettings(url_env="X", statement_timeout_seconds=30)
    reports = {}
    for role, url in reader_urls.items():
        tool = DbQueryTool(settings, url, 1)
        report = CheckReport(Path("agent.yaml"))
        try:
            _check_tools(ToolRegistry({"db.query": tool}), report, allow_privileged=False)
        finally:
            tool.dispose()
        assert report.exit_code == 0, report.render()
        reports[role] = {item.name: item.detail for item in report.items}
    assert reports[PLAIN_READER]["temp files"].startswith(
        "the database login's temp_file_limit = -1 (unlimited)\nWARNING:"
    )
    assert "ALTER ROLE <login> SET temp_file_limit" in reports[PLAIN_READER]["temp files"]
    assert reports[BOUNDED_READER]["temp files"] == "the database login's temp_file_limit = 1MB"
    # With the login set up as the README says, a sort of a huge series stops at the limit, not at the timeout.
    bounded = DbQueryTool(settings, reader_urls[BOUNDED_READER], 1)
    try:
        # The error names the limit: a query stopped by its timeout would be a Tool.Timeout instead.
        error = _refusal(bounded, {"sql": "SELECT g FROM generate_series(1, 1000000000000) AS g ORDER BY g DESC"})
        assert error.error == "Tool.SqlError" and "temp_file_limit" in error.cause
    finally:
        bounded.dispose()


def test_sqlite_json_table_functions_work_under_the_authorizer(warehouse_sqlite: Path) -> None:
    tool = DbQueryTool(DbQuerySettings(url_env="X"), f"sqlite:///{warehouse_sqlite}", 1)
    try:
        each = "SELECT s.sku, j.value FROM stock AS s, json_each('[1, 2]') AS j WHERE s.qty = 1 ORDER BY j.value"
        assert _drain(tool, {"sql": each}) == [["SKU-0001", 1], ["SKU-0001", 2]]
        tree = "SELECT fullkey FROM json_tree('{\"a\": [5]}') ORDER BY fullkey"
        assert _drain(tool, {"sql": tree}) == [["$"], ["$.a"], ["$.a[0]"]]
        # The authorizer still refuses what is not a read.
        assert _refusal(tool, {"sql": "SELECT zeroblob(10)"}).error == "Tool.NotAllowed"
    finally:
        tool.dispose()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    base = tmp_path / "files"
    base.mkdir()
    return base


def test_csv_delimiter_detection_is_fast_and_within_the_deadline(files: Path) -> None:
    # csv.Sniffer is quadratic on this (about 7 s for 32 KiB) and holds the GIL meanwhile.
    (files / "sniff.csv").write_text(',"' * 16384, encoding="utf-8")
    tool = FileReadTool(FileReadSettings(base_dir=files, max_columns=100_000))
    started = time.monotonic()
    try:
        _drain(tool, {"path": "sniff.csv"}, timeout=2)
    except ToolError as error:
        assert error.error in {"Tool.BadRequest", "Tool.ResultTooLarge", "Tool.Timeout"}
    # A hang guard, not a speed check: the sniffer took 27 s here on an idle machine; linear detection takes
    # milliseconds, so even a heavily loaded machine stays far below this bound.
    assert time.monotonic() - started < 20
    # Ordinary files keep their delimiter.
    (files / "semi.csv").write_text('name;note\n"a, b";1\n"c, d";2\n', encoding="utf-8")
    (files / "pipes.txt").write_text("sku|qty\nA|1\nB|2\n", encoding="utf-8")
    (files / "tabs.txt").write_text("sku\tqty\tnote\nA\t1\tx,y\n", encoding="utf-8")
    (files / "single.csv").write_text("sku\nA\n", encoding="utf-8")
    assert _drain(tool, {"path": "semi.csv"}) == [["a, b", "1"], ["c, d", "2"]]
    assert _drain(tool, {"path": "pipes.txt"}) == [["A", "1"], ["B", "2"]]
    assert _drain(tool, {"path": "tabs.txt"}) == [["A", "1", "x,y"]]
    assert _drain(tool, {"path": "single.csv"}) == [["A"]]


def test_a_csv_row_spanning_many_lines_is_bounded_by_the_row_limit(files: Path) -> None:
    # Every physical line is 5 characters; the quoted fields make the whole file one logical row.
    (files / "one_row.csv").write_text("sku,qty\n" + '"a\n",' * 60_000 + "x\n", encoding="utf-8")
    settings = f"FileReadSettings(base_dir={str(files)!r}, max_row_bytes=64 * 1024)"
    (measured,) = peaks_in_child(
        _REFUSAL_SETUP + f"\ntool = FileReadTool({settings})\n", ["refusal(tool, {'path': 'one_row.csv'})"]
    )
    assert measured.value is not None and "Tool.ResultTooLarge" in measured.value
    assert "row longer than 65536 characters" in measured.value
    assert measured.peak < 8 * 1024 * 1024, f"{measured.peak / 1e6:.1f} MB held reading a row capped at 64 KiB"
    tool = FileReadTool(FileReadSettings(base_dir=files, max_row_bytes=64 * 1024))
    # Rows with quoted newlines within the limit still read.
    (files / "notes.csv").write_text('sku,note\nA,"two\nlines"\nB,plain\n', encoding="utf-8")
    assert _drain(tool, {"path": "notes.csv"}) == [["A", "two\nlines"], ["B", "plain"]]


def test_csv_fields_up_to_the_row_limit_and_files_up_to_the_file_limit(files: Path) -> None:
    # csv's own field limit (128 KiB by default) used to refuse a field the row limit allows.
    (files / "long_field.csv").write_text("sku,note\nA," + "n" * 200_000 + "\n", encoding="utf-8")
    tool = FileReadTool(FileReadSettings(base_dir=files))
    assert len(_drain(tool, {"path": "long_field.csv"})[0][1]) == 200_000
    (files / "big.csv").write_text("sku\n" + "A\n" * 4_000, encoding="utf-8")
    small = FileReadTool(FileReadSettings(base_dir=files, max_file_bytes=4_096))
    error = _refusal(small, {"path": "big.csv"})
    assert error.error == "Tool.ResultTooLarge" and "4096 bytes (the file size limit)" in error.cause


def test_a_large_styles_part_is_refused_before_the_workbook_is_parsed(files: Path) -> None:
    workbook = Workbook()
    workbook.active.append(["sku", "qty"])
    workbook.active.append(["A", 1])
    workbook.save(files / "plain.xlsx")
    # About 2 MB of poorly compressible number formats: the ratio and total size checks pass.
    rnd = random.Random(1)
    formats = "".join(
        f'<numFmt numFmtId="{200 + i}" formatCode="{"".join(rnd.choices(string.ascii_letters, k=12))}"/>'
        for i in range(40_000)
    )
    with zipfile.ZipFile(files / "plain.xlsx") as source, zipfile.ZipFile(files / "styles.xlsx", "w") as bloated:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/styles.xml":
                data = data.decode().replace("<fonts", f'<numFmts count="40000">{formats}</numFmts><fonts', 1).encode()
            bloated.writestr(item.filename, data, zipfile.ZIP_DEFLATED)
    tool = FileReadTool(FileReadSettings(base_dir=files, max_part_bytes=1024 * 1024))
    error = _refusal(tool, {"path": "styles.xlsx"})
    assert error.error == "Tool.ResultTooLarge" and "xl/styles.xml" in error.cause, error.cause
    assert _drain(tool, {"path": "plain.xlsx"}) == [["A", 1]]
