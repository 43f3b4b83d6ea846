"""Benchmark: a 1,000,000-row query result delivered to S3 (moto server) by the local agent's streaming
path, against a naive `pandas.read_sql` + `to_json` of the same query, measured in the same run.

Each variant runs in its own subprocess so its peak RSS is its own. Both upload gzip JSON lines
through the same pre-signed PUT URL.

    python bench/bench_large_result.py [--rows 1000000] [--keep-db PATH]

pandas is needed for the naive variant only (`pip install pandas`).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUERY = "SELECT id, sku, warehouse, qty, unit_price, moved_at, note FROM movements ORDER BY id"
COLUMNS = ["id", "sku", "warehouse", "qty", "unit_price", "moved_at", "note"]


def build_database(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE movements (id INTEGER PRIMARY KEY, sku TEXT, warehouse TEXT, qty INTEGER, "
            "unit_price REAL, moved_at TEXT, note TEXT)"
        )
        connection.executemany(
            "INSERT INTO movements VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    i,
                    f"SKU-{i % 5003:05d}",
                    ("Lyon", "Paris", "Lille", "Nantes")[i % 4],
                    i % 97,
                    round((i % 1000) * 0.37, 2),
                    f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00",
                    f"move {i}",
                )
                for i in range(rows)
            ),
        )


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_agent_variant(db: Path, url: str, key: str) -> dict[str, Any]:
    from phi_agent.config import DbQuerySettings
    from phi_agent.results import ResultUpload, build_output
    from phi_agent.tools.db_query import DbQueryTool

    started = time.perf_counter()
    tool = DbQueryTool(
        DbQuerySettings(url_env="BENCH", statement_timeout_seconds=600, max_rows=10_000_000),
        f"sqlite:///{db}",
        pool_size=1,
    )
    with tool.open({"sql": QUERY}, None) as result:
        output = build_output("bench", result, 131_072, ResultUpload(url=url, key=key))
    tool.dispose()
    reference = output["result_ref"]
    return {"seconds": time.perf_counter() - started, "bytes": reference["bytes"], "rows": reference["row_count"]}


def run_naive_variant(db: Path, url: str, key: str) -> dict[str, Any]:
    import pandas as pd

    from phi_agent.results import put_presigned

    started = time.perf_counter()
    with sqlite3.connect(db) as connection:
        frame = pd.read_sql(QUERY, connection)
    text = frame.to_json(orient="values", lines=False)
    rows = json.loads(text)
    lines = [json.dumps({"columns": list(frame.columns)})] + [json.dumps(row) for row in rows]
    body = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=5)
    put_presigned(url, io.BytesIO(body), len(body))
    return {"seconds": time.perf_counter() - started, "bytes": len(body), "rows": len(frame)}


def child(variant: str, db: Path, url: str, key: str) -> None:
    runner = run_agent_variant if variant == "agent" else run_naive_variant
    figures = runner(db, url, key)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def measure(variant: str, db: Path, s3: Any, bucket: str) -> dict[str, Any]:
    key = f"bench/{variant}.jsonl.gz"
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--db", str(db), "--url", url, "--key", key],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["process_seconds"] = time.perf_counter() - started
    stored = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    assert stored == figures["bytes"], f"{variant}: S3 holds {stored} bytes, expected {figures['bytes']}"
    return figures


def verify_same_rows(s3: Any, bucket: str) -> None:
    """Both uploads must decode to the same rows (first and last checked, counts compared)."""
    decoded = {}
    for variant in ("agent", "naive"):
        raw = s3.get_object(Bucket=bucket, Key=f"bench/{variant}.jsonl.gz")["Body"].read()
        lines = gzip.decompress(raw).splitlines()
        decoded[variant] = (len(lines), json.loads(lines[1]), json.loads(lines[-1]))
    assert decoded["agent"] == decoded["naive"], decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep-db", type=Path, help="reuse or create the SQLite database at this path")
    parser.add_argument("--child", choices=["agent", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db, args.url, args.key)
        return

    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="phi-bench-") as scratch:
        db = args.keep_db or Path(scratch) / "movements.db"
        if not db.exists():
            print(f"building {args.rows:,} rows in {db} ...", file=sys.stderr)
            build_database(db, args.rows)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            s3 = boto3.client(
                "s3",
                endpoint_url=f"http://{host}:{port}",
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )
            s3.create_bucket(Bucket="phi-bench")
            results = {variant: measure(variant, db, s3, "phi-bench") for variant in ("agent", "naive")}
            verify_same_rows(s3, "phi-bench")
        finally:
            server.stop()
    print_table(results)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    agent, naive = results["agent"], results["naive"]
    print(f"\n1 query, {agent['rows']:,} rows -> S3 (moto server), gzip JSON lines; python {sys.version.split()[0]}")
    print(f"{'variant':<34}{'wall s':>10}{'peak RSS MB':>14}{'uploaded MB':>14}")
    for name, figures in (("phi-agent (streamed)", agent), ("pandas.read_sql + to_json (naive)", naive)):
        print(
            f"{name:<34}{figures['seconds']:>10.2f}{figures['peak_rss_mb']:>14.1f}{figures['bytes'] / 1_048_576:>14.1f}"
        )
    print(
        f"{'ratio naive / agent':<34}{naive['seconds'] / agent['seconds']:>10.2f}"
        f"{naive['peak_rss_mb'] / agent['peak_rss_mb']:>14.2f}"
    )
    print(f"(cpu count {os.cpu_count()}; wall time measured inside each subprocess, imports excluded)")


if __name__ == "__main__":
    main()
