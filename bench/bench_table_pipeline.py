"""Benchmark: a table pipeline (filter → group_by → top_k) over a 1,000,000-row tool result in the Think process,
through the real `table` node code path on a table reference, against loading the whole result into pandas.

The tool result is gzip JSON lines (a {"columns"} header, then one JSON array per row, compression level 5) —
the claim-check format the local agent uploads. It lives in a **local file-backed table store**: a directory
behind the same TableStore port that S3Tables implements over the claim-check bucket in Think (moto would hold
the objects in this process's memory and blur the RSS figures).

Each variant runs in a fresh subprocess, so its peak RSS (resource.getrusage ru_maxrss) is its own:

- `phi`: the claim check is read once as Think reads it (tool_results: scan, count, preview → a reference),
  then a compiled workflow definition runs: a local_tool node resumed with that reference, and a `table` node
  streaming filter → group_by → top_k from the store. The graph runs with a checkpointer; the checkpointed
  state's size is printed too.
- `pandas`: the whole result decompressed, parsed and loaded into a DataFrame, then the same pipeline.

    python bench/bench_table_pipeline.py [--rows 1000000]

pandas is in the `bench` extra (`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

COLUMNS = ["id", "sku", "warehouse", "carrier", "qty", "unit_price", "promised_at", "shipped_at", "note"]
KEY = "tool-results/bench-task/call-1.jsonl.gz"
TOP = 10
LATE = {"and": [{">": [{"var": "shipped_at"}, {"var": "promised_at"}]}, {">": [{"var": "qty"}, 0]}]}
OPS: list[dict[str, Any]] = [
    {"op": "filter", "where": LATE},
    {
        "op": "group_by",
        "keys": ["sku"],
        "aggs": {"late": {"fn": "count"}, "units": {"fn": "sum", "column": "qty"}},
    },
    {"op": "top_k", "k": TOP, "by": "late"},
]


def row(i: int) -> list[Any]:
    """A move; 1 in 7 ships late, and SKUs 0-9 ship late far more often (so the top 10 is clear-cut)."""
    sku = i % 5003
    late = i % 7 == 0 or (sku < 10 and (i // 5003) % 10 < 10 - sku)
    promised = f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00"
    shipped = None if i % 13 == 0 else f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{30 if late else 0:02d}:00"
    return [
        i,
        f"SKU-{sku:05d}",
        ("Lyon", "Paris", "Lille", "Nantes")[i % 4],
        ("DHL", "UPS", "DPD", "GLS", "Colissimo")[i % 5],
        i % 97,
        round((i % 1000) * 0.37, 2),
        promised,
        shipped,
        f"move {i}",
    ]


class FileTables:
    """The TableStore port over a directory (keys are relative paths)."""

    def __init__(self, root: Path) -> None:
        from phi.definitions.table_format import TableLimits

        self.root = root
        self.limits = TableLimits(max_bytes=1024 * 1024 * 1024, max_rows=5_000_000)

    def open(self, key: str) -> IO[bytes]:
        return (self.root / key).open("rb")

    def save(self, name: str, body: IO[bytes]) -> str:
        key = f"tool-results/bench-task/tables/{name}.jsonl.gz"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            while block := body.read(1024 * 1024):
                out.write(block)
        return key


def generate(root: Path, rows: int) -> int:
    """The tool result as the local agent uploads it; its compressed size."""
    from phi.definitions.table_format import TableLimits, TableWriter

    path = root / KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        writer = TableWriter(file, COLUMNS, TableLimits(max_bytes=1 << 40, max_rows=rows), "bench")
        for i in range(rows):
            writer.add(row(i))
        return writer.finish()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_phi(root: Path) -> dict[str, Any]:
    from langgraph.checkpoint.memory import InMemorySaver

    from phi.definitions.document import validate_definition
    from phi.definitions.table_format import TableLimits, reference, scan
    from phi.workflows.compiler import compile_definition
    from phi.workflows.contracts import ToolOutcome, ToolRequest
    from phi.workflows.ports import Ports, TaskSnapshot, graph_config

    imported_rss = current_rss_mb()
    store = FileTables(root)
    started, started_cpu = time.perf_counter(), cpu_seconds()
    # 1. The claim check, as tool_results reads it in Think: one streamed pass → a reference with a preview.
    with store.open(KEY) as body:
        columns, count, preview = scan(body, TableLimits(max_bytes=1024 * 1024 * 1024, max_rows=5_000_000))
    ref = reference(columns, count, preview, KEY, (root / KEY).stat().st_size, truncated=False)
    ingested = time.perf_counter()

    # 2. The workflow: the local_tool node is resumed with that reference, the table node streams the pipeline.
    definition = validate_definition(
        {
            "key": "bench",
            "name": "bench",
            "nodes": [
                {"id": "moves", "kind": "local_tool", "settings": {"tool": "db.query", "sql": "SELECT * FROM moves"}},
                {"id": "late_skus", "kind": "table", "settings": {"input": "moves", "ops": OPS}},
            ],
            "edges": [["moves", "late_skus"]],
        }
    )

    class Task:
        def load(self) -> TaskSnapshot:
            return TaskSnapshot(
                task_id="bench", org_id="o", agent_id="a", type="bench", input={}, agent_name="bench", agent_config={}
            )

    class Events:
        def record(self, *args: Any) -> None:
            pass

    class NoDocuments:
        def has_documents(self) -> bool:
            return False

        def search(self, query: str, top_k: int) -> list[Any]:
            return []

    class Tools:  # Think resumes the local_tool node with the claim check's reference
        def call(self, request: ToolRequest) -> ToolOutcome:
            return ToolOutcome(ok=True, result=ref)

    ports = Ports(task=Task(), events=Events(), documents=NoDocuments(), tools=Tools(), tables=store)
    saver = InMemorySaver()
    graph = compile_definition(definition).compile(checkpointer=saver)
    config = graph_config("bench", ports)
    state = graph.invoke({"task_id": "bench", "org_id": "o", "agent_id": "a"}, config)
    finished = time.perf_counter()
    if state.get("failure"):
        raise SystemExit(f"the workflow failed: {state['failure']}")
    checkpoint = saver.get_tuple(config)
    assert checkpoint is not None
    result = state["results"]["late_skus"]
    return {
        "rows": count,
        "ingest_seconds": ingested - started,
        "pipeline_seconds": finished - ingested,
        "seconds": finished - started,
        "cpu_seconds": cpu_seconds() - started_cpu,  # steadier than wall time on a shared machine
        "imported_rss_mb": imported_rss,
        "state_bytes": len(saver.serde.dumps_typed(checkpoint.checkpoint["channel_values"])[1]),
        "top": [[r[0], r[1], r[2]] for r in result["rows"]],
    }


def run_pandas(root: Path) -> dict[str, Any]:
    import gzip

    import pandas as pd

    imported_rss = current_rss_mb()
    started, started_cpu = time.perf_counter(), cpu_seconds()
    with gzip.open(root / KEY, "rb") as stream:
        header, *lines = stream.read().splitlines()
    columns = json.loads(header)["columns"]
    frame = pd.DataFrame(json.loads(b"[" + b",".join(lines) + b"]"), columns=columns)
    del lines
    loaded = time.perf_counter()
    late = frame[(frame["shipped_at"] > frame["promised_at"]) & (frame["qty"] > 0)]
    grouped = late.groupby("sku").agg(late=("id", "size"), units=("qty", "sum")).reset_index()
    top = grouped.nlargest(TOP, "late")
    finished = time.perf_counter()
    return {
        "rows": len(frame),
        "ingest_seconds": loaded - started,
        "pipeline_seconds": finished - loaded,
        "seconds": finished - started,
        "cpu_seconds": cpu_seconds() - started_cpu,  # steadier than wall time on a shared machine
        "imported_rss_mb": imported_rss,
        "top": [[r.sku, int(r.late), float(r.units)] for r in top.itertuples()],
    }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(variant: str, root: Path) -> None:
    figures = run_phi(root) if variant == "phi" else run_pandas(root)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def measure(variant: str, root: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{completed.stderr[-4000:]}")
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def same_answer(phi: list[list[Any]], pandas: list[list[Any]]) -> None:
    """Both pick the same counts and, for each SKU, the same figures (a SKU tied at the cut-off may differ)."""
    assert [r[1] for r in phi] == [r[1] for r in pandas], (phi, pandas)
    cut = phi[-1][1] if phi else 0
    assert {r[0] for r in phi if r[1] > cut} == {r[0] for r in pandas if r[1] > cut}, (phi, pandas)
    by_sku = {r[0]: r for r in pandas}
    for r in phi:
        if r[0] in by_sku:
            assert r[1] == by_sku[r[0]][1] and abs(r[2] - by_sku[r[0]][2]) < 1e-6, (r, by_sku[r[0]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["phi", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.root)
        return
    with tempfile.TemporaryDirectory(prefix="phi-bench-tables-") as scratch:
        root = Path(scratch)
        print(f"writing a {args.rows:,}-row tool result ...", file=sys.stderr)
        compressed = generate(root, args.rows)
        results = {variant: measure(variant, root) for variant in ("phi", "pandas")}
    same_answer(results["phi"]["top"], results["pandas"]["top"])
    print_table(results, compressed)


def print_table(results: dict[str, dict[str, Any]], compressed: int) -> None:
    phi, pandas = results["phi"], results["pandas"]
    print(
        f"\nfilter → group_by → top_k over a {phi['rows']:,}-row tool result "
        f"({compressed / 1_048_576:.1f} MB gzip JSON lines, file-backed table store); python {sys.version.split()[0]}"
    )
    print(
        f"{'variant':<38}{'read s':>8}{'ops s':>8}{'total s':>9}{'CPU s':>8}"
        f"{'RSS after imports MB':>22}{'peak RSS MB':>13}"
    )
    for name, f in (("phi table node (streamed reference)", phi), ("pandas (whole result in a DataFrame)", pandas)):
        print(
            f"{name:<38}{f['ingest_seconds']:>8.2f}{f['pipeline_seconds']:>8.2f}{f['seconds']:>9.2f}"
            f"{f['cpu_seconds']:>8.2f}{f['imported_rss_mb']:>22.1f}{f['peak_rss_mb']:>13.1f}"
        )
    print(
        f"peak RSS above imports: phi {phi['peak_rss_mb'] - phi['imported_rss_mb']:.1f} MB, "
        f"pandas {pandas['peak_rss_mb'] - pandas['imported_rss_mb']:.1f} MB; "
        f"checkpointed graph state (phi): {phi['state_bytes'] / 1024:.1f} KiB"
    )
    print(
        "(phi 'read' = the claim check read once as Think reads it: checked, counted, previewed; "
        "'ops' = the compiled graph incl. the table node streaming the pipeline from the store)"
    )
    print(
        f"(cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; each variant in a fresh subprocess, "
        "imports excluded from the times; CPU s = user + system time of the work)"
    )


if __name__ == "__main__":
    main()
