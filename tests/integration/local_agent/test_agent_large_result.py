"""A 10 MB result leaves through the pre-signed S3 URL (gzip JSON lines) and comes back intact."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from phi_agent.config import DbQuerySettings
from phi_agent.errors import ToolError
from phi_agent.results import ResultUpload, SpilledResult, build_output, read_output
from phi_agent.tools.db_query import DbQueryTool

ROWS = 110_000


@pytest.fixture
def big_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "big.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE movements (id INTEGER, sku TEXT, qty REAL, note TEXT)")
        connection.executemany(
            "INSERT INTO movements VALUES (?, ?, ?, ?)",
            ((i, f"SKU-{i % 997:05d}", i / 4, f"pallet move {i} é ✓" + "x" * 40) for i in range(ROWS)),
        )
    return path


def _presigned_put(cloud: Any, key: str) -> ResultUpload:
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="phi-tool-results")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "phi-tool-results", "Key": key}, ExpiresIn=600)
    return ResultUpload(url=url, key=key)


def test_ten_megabyte_result_goes_through_s3_intact(cloud: Any, big_sqlite: Path) -> None:
    tool = DbQueryTool(DbQuerySettings(url_env="X", max_rows=1_000_000), f"sqlite:///{big_sqlite}", pool_size=1)
    upload = _presigned_put(cloud, "tool-results/task-1/call-1.jsonl.gz")
    with tool.open({"sql": "SELECT id, sku, qty, note FROM movements ORDER BY id"}, None) as result:
        output = build_output("call-1", result, 131_072, upload)
    tool.dispose()

    reference = output["result_ref"]
    assert "result" not in output and output["ok"] is True
    assert reference["format"] == "jsonl.gz" and reference["row_count"] == ROWS
    assert reference["columns"] == ["id", "sku", "qty", "note"] and reference["truncated"] is False
    stored = cloud.client("s3").get_object(Bucket="phi-tool-results", Key=upload.key)["Body"].read()
    assert len(stored) == reference["bytes"]
    lines = gzip.decompress(stored).decode("utf-8").splitlines()
    assert sum(len(line) + 1 for line in lines) > 10_000_000, "the uncompressed result should be over 10 MB"
    assert json.loads(lines[0]) == {"columns": ["id", "sku", "qty", "note"]}
    rows = [json.loads(line) for line in lines[1:]]
    assert len(rows) == ROWS
    with sqlite3.connect(big_sqlite) as connection:
        expected = [list(row) for row in connection.execute("SELECT id, sku, qty, note FROM movements ORDER BY id")]
    assert rows == expected


def test_expired_or_refused_upload_is_reported(cloud: Any, big_sqlite: Path) -> None:
    tool = DbQueryTool(DbQuerySettings(url_env="X"), f"sqlite:///{big_sqlite}", pool_size=1)
    upload = _presigned_put(cloud, "k")
    refused = ResultUpload(url=upload.url.replace("phi-tool-results", "no-such-bucket"), key="k")
    with pytest.raises(ToolError) as caught, tool.open({"sql": "SELECT * FROM movements"}, None) as result:
        build_output("call-2", result, 131_072, refused)
    tool.dispose()
    assert caught.value.error == "Tool.InternalError"
    assert "HTTP 4" in caught.value.cause
    assert "Signature=" not in caught.value.cause or "Signature=***" in caught.value.cause


def test_the_result_is_read_whole_before_it_is_uploaded_so_the_connection_is_free(cloud: Any, big_sqlite: Path) -> None:
    # A pool of one connection: a second query can run only once the first query's connection is back
    tool = DbQueryTool(DbQuerySettings(url_env="X", max_rows=1_000_000), f"sqlite:///{big_sqlite}", pool_size=1)
    upload = _presigned_put(cloud, "tool-results/task-2/call-1.jsonl.gz")
    with tool.open({"sql": "SELECT id, sku, qty, note FROM movements ORDER BY id"}, None) as result:
        read = read_output("call-1", result, 131_072, upload)
    assert isinstance(read, SpilledResult) and read.row_count == ROWS  # read, spilled, not yet sent
    with tool.open({"sql": "SELECT COUNT(*) FROM movements"}, 60) as other:  # meanwhile the tool serves again
        assert [list(row) for row in other.rows] == [[ROWS]]
    output = read.upload_output()
    tool.dispose()
    stored = cloud.client("s3").get_object(Bucket="phi-tool-results", Key=upload.key)["Body"].read()
    assert output["result_ref"]["bytes"] == len(stored) and output["result_ref"]["row_count"] == ROWS
