"""Search at scale (issue 15 §5): `--chunks` chunks across `--orgs` organisations on the embedded PostgreSQL
(pgserver, pgvector 0.6), with one large organisation (`--large`), one at the exact-search threshold
(`--medium`) and one small (`--small`); the rest share the remainder evenly.

    python bench/bench_search_scale.py                       # 1,000,000 chunks (~25-40 min on 2 busy cores)
    python bench/bench_search_scale.py --chunks 100000 --orgs 100 --large 20000 --medium 5000

For each of those organisations: p50 / p95 latency and recall@10 against exact search (numpy over that
organisation's own vectors), for
- before: the shared per-model HNSW index with the organisation as a filter, then the exact fallback when
  fewer than 10 rows come back (the search as it was);
- after: `phi.db.search_plan` (what `store.search` now runs): exact search up to EXACT_MAX_CHUNKS chunks,
  the organisation's own partial HNSW index above.
Both through the application's own search function and SQL. Vectors: `--dim` dimensions (256 = WordLlama,
the AWS default; 384 = MiniLM), clustered like text embeddings (each organisation writes about a few
dozen topics; a chunk is its topic's centre plus noise); queries are chunks of the organisation plus noise.
Loaded with binary COPY (pgvector's binary format built by numpy).
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from phi.db import documents as store
from phi.db import search_plan
from phi.embedded.postgres import scratch_database

T = TypeVar("T")
MODEL = "bench-scale"
TOPICS_PER_ORG = 40
TOPIC_POOL = 1_000  # shared by all organisations (one industry): their chunks interleave
LATENT_DIM = 24  # text embeddings vary along far fewer directions than they have dimensions
SPREAD = 0.5  # a chunk's distance from its topic's centre, in the latent space
NOISE = 0.05  # isotropic noise on top, in the full space


@dataclass
class Org:
    label: str
    id: uuid.UUID
    size: int
    documents: list[uuid.UUID] = field(default_factory=list)
    vectors: np.ndarray | None = None  # kept only for the measured organisations


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def org_sizes(args: argparse.Namespace) -> list[tuple[str, int]]:
    named = [("large", args.large), ("medium", args.medium), ("small", args.small)]
    rest_orgs = args.orgs - len(named)
    rest_chunks = args.chunks - sum(size for _, size in named)
    if rest_orgs < 1 or rest_chunks < rest_orgs:
        raise SystemExit("--chunks/--orgs leave nothing for the other organisations")
    base, extra = divmod(rest_chunks, rest_orgs)
    return named + [(f"other-{i}", base + (1 if i < extra else 0)) for i in range(rest_orgs)]


class VectorModel:
    """Clustered vectors of low intrinsic dimension: topic centre + spread in a `LATENT_DIM`-dimensional space,
    mapped into `dim` dimensions by a fixed random projection, plus a little full-dimensional noise."""

    def __init__(self, rng: np.random.Generator, dim: int) -> None:
        self.rng = rng
        self.dim = dim
        self.projection = np.linalg.qr(rng.standard_normal((dim, LATENT_DIM)))[0].T.astype(np.float32)
        self.centres = rng.standard_normal((TOPIC_POOL, LATENT_DIM)).astype(np.float32)

    def org_vectors(self, count: int) -> np.ndarray:
        topics = self.rng.choice(TOPIC_POOL, size=TOPICS_PER_ORG, replace=False)
        latent = self.centres[topics[self.rng.integers(0, TOPICS_PER_ORG, count)]]
        return self._embed(latent + self.rng.standard_normal(latent.shape).astype(np.float32) * SPREAD)

    def near(self, vectors: np.ndarray, count: int) -> np.ndarray:
        """Queries: chunks of the organisation moved a little (a question is near, not on, its passage)."""
        picks = vectors[self.rng.integers(0, len(vectors), count)]
        noisy = picks + self.rng.standard_normal(picks.shape).astype(np.float32) * (0.3 / np.sqrt(self.dim))
        return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)

    def _embed(self, latent: np.ndarray) -> np.ndarray:
        full = latent @ self.projection
        full /= np.linalg.norm(full, axis=1, keepdims=True)
        full += self.rng.standard_normal(full.shape).astype(np.float32) * (NOISE / np.sqrt(self.dim) * 4)
        return full / np.linalg.norm(full, axis=1, keepdims=True)


_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)


def copy_rows(org: Org, vectors: np.ndarray, chunks_per_doc: int) -> bytes:
    """Binary COPY tuples for (document_id, org_id, chunk_index, text, content_hash, embedding,
    embedding_model), built as one numpy record array: every field has a fixed width here."""
    count, dim = vectors.shape
    model = MODEL.encode()
    dtype = np.dtype(
        [
            ("fields", ">i2"),
            ("doc_len", ">i4"),
            ("doc", "V16"),
            ("org_len", ">i4"),
            ("org", "V16"),
            ("idx_len", ">i4"),
            ("idx", ">i4"),
            ("text_len", ">i4"),
            ("text", "S16"),
            ("hash_len", ">i4"),
            ("hash", "S1"),
            ("vec_len", ">i4"),
            ("vec_dim", ">i2"),
            ("vec_unused", ">i2"),
            ("vec", ">f4", (dim,)),
            ("model_len", ">i4"),
            ("model", f"S{len(model)}"),
        ]
    )
    rows = np.zeros(count, dtype=dtype)
    rows["fields"] = 7
    rows["doc_len"], rows["org_len"], rows["idx_len"] = 16, 16, 4
    positions = np.arange(count)
    doc_bytes = np.frombuffer(b"".join(d.bytes for d in org.documents), dtype="V16")
    rows["doc"] = doc_bytes[positions // chunks_per_doc]
    rows["org"] = np.frombuffer(org.id.bytes, dtype="V16")[0]
    rows["idx"] = positions % chunks_per_doc
    rows["text_len"], rows["text"] = 16, np.char.zfill(positions.astype("S16"), 16)
    rows["hash_len"], rows["hash"] = 1, b"-"
    rows["vec_len"], rows["vec_dim"], rows["vec"] = 4 + 4 * dim, dim, vectors
    rows["model_len"], rows["model"] = len(model), model
    return rows.tobytes()


def load(
    conn: psycopg.Connection[Any], orgs: list[Org], model: VectorModel, chunks_per_doc: int, keep: set[str]
) -> None:
    with conn.cursor() as cursor:
        with cursor.copy("COPY organizations (id, name) FROM STDIN") as copy:
            for org in orgs:
                copy.write_row((org.id, f"Bench {org.label}"))
        with cursor.copy(
            "COPY documents (id, org_id, filename, source_type, s3_key, bytes, sha256, status, chunk_count,"
            " embedding_model) FROM STDIN"
        ) as copy:
            for org in orgs:
                for number, start in enumerate(range(0, org.size, chunks_per_doc)):
                    document_id = uuid.uuid4()
                    org.documents.append(document_id)
                    size = min(chunks_per_doc, org.size - start)
                    copy.write_row(
                        (
                            document_id,
                            org.id,
                            f"doc-{number}.pdf",
                            "SOP",
                            f"k/{document_id}",
                            0,
                            "-",
                            "READY",
                            size,
                            MODEL,
                        )
                    )
        with cursor.copy(
            "COPY document_chunks (document_id, org_id, chunk_index, text, content_hash, embedding,"
            " embedding_model) FROM STDIN WITH (FORMAT binary)"
        ) as copy:
            copy.write(_HEADER)
            for org in orgs:
                vectors = model.org_vectors(org.size)
                if org.label in keep:
                    org.vectors = vectors
                copy.write(copy_rows(org, vectors, chunks_per_doc))
            copy.write(_TRAILER)


def exact_top(org: Org, query: np.ndarray, k: int = 10) -> tuple[set[tuple[uuid.UUID, int]], float]:
    """The true 10 nearest chunks, and the 10th best similarity (a hit that ties with it counts as found)."""
    assert org.vectors is not None
    scores = org.vectors @ query
    top = np.argpartition(-scores, k)[:k]
    ids = {(org.documents[i // CHUNKS_PER_DOC], int(i % CHUNKS_PER_DOC)) for i in top}
    return ids, float(scores[top].min())


CHUNKS_PER_DOC = 50


def shared_index_search(
    conn: psycopg.Connection[Any], org: Org, query: list[float], dim: int, ef_search: int
) -> list[Any]:
    """The search as it was: the shared index with the organisation as a filter, exact when short."""
    sql_text = store.search_sql(dim, MODEL, "org")
    params = {"query": store.vector_literal(query), "org_id": org.id, "agent_id": None, "top_k": 10}
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef_search),))
        rows = cursor.execute(sql_text, params).fetchall()
        if len(rows) < 10:
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
            rows = cursor.execute(sql_text, params).fetchall()
    return rows


Hit = tuple[uuid.UUID, int, float]  # document, chunk index, similarity


def measure(
    label: str,
    run: Callable[[list[float]], list[Hit]],
    queries: np.ndarray,
    truths: list[tuple[set[tuple[uuid.UUID, int]], float]],
) -> dict[str, Any]:
    run(queries[0].tolist())  # warm the cache and the connection
    latencies, recalls = [], []
    for query, (truth, tenth) in zip(queries, truths, strict=True):
        hits, seconds = timed(lambda q=query: run(q.tolist()))
        latencies.append(seconds * 1000)
        found = sum(1 for document, index, score in hits if (document, index) in truth or score >= tenth - 1e-5)
        recalls.append(min(found, 10) / 10)
    return {
        "label": label,
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "recall": statistics.mean(recalls),
    }


def plan_text(conn: psycopg.Connection[Any], query_sql: Any, params: dict[str, Any]) -> str:
    with conn.transaction():
        rows = conn.execute(psycopg.sql.SQL("EXPLAIN ") + query_sql, params).fetchall()
    return "; ".join(str(r[0]).strip().lstrip("-> ").split("  (")[0] for r in rows if "Scan" in str(r[0]))


def print_results(org: Org, results: list[dict[str, Any]]) -> None:
    for r in results:
        print(
            f"{org.label + ' ' + format(org.size, ','):<16}{r['label']:<44}{r['p50']:>8.1f}{r['p95']:>8.1f}"
            f"{r['recall']:>11.3f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--orgs", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--medium", type=int, default=search_plan.EXACT_MAX_CHUNKS)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[40, 100, 200])
    parser.add_argument(
        "--skip-shared-index",
        action="store_true",
        help="do not build the shared index over every chunk (no 'before' figures; much faster)",
    )
    args = parser.parse_args()
    model = VectorModel(np.random.default_rng(7), args.dim)
    orgs = [Org(label, uuid.uuid4(), size) for label, size in org_sizes(args)]
    measured = {"large", "medium", "small"}
    print(
        f"{args.chunks:,} chunks, {args.orgs:,} organisations, {args.dim} dims; measured: "
        + ", ".join(f"{o.label} {o.size:,}" for o in orgs if o.label in measured)
        + f"; exact search up to {search_plan.EXACT_MAX_CHUNKS:,} chunks; {args.queries} queries each",
        flush=True,
    )
    with scratch_database("phi_bench_scale") as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '4GB'")  # each graph must fit in memory to build fast
        conn.execute("SET max_parallel_maintenance_workers = 2")
        _, seconds = timed(lambda: load(conn, orgs, model, CHUNKS_PER_DOC, measured))
        print(
            f"generated and loaded with binary COPY in {seconds:.0f} s ({args.chunks / seconds:,.0f} chunks/s)",
            flush=True,
        )
        _, seconds = timed(lambda: conn.execute("VACUUM ANALYZE document_chunks"))
        print(f"VACUUM ANALYZE in {seconds:.0f} s", flush=True)
        targets = [o for o in orgs if o.label in measured]
        workload = {}
        for org in targets:
            assert org.vectors is not None
            queries = model.near(org.vectors, args.queries)
            workload[org.label] = (queries, [exact_top(org, q) for q in queries])
        header = f"\n{'organisation':<16}{'method':<44}{'p50 ms':>8}{'p95 ms':>8}{'recall@10':>11}"

        if not args.skip_shared_index:
            _, seconds = timed(lambda: store.ensure_vector_index(conn, MODEL, args.dim))
            print(f"shared HNSW index over all {args.chunks:,} chunks built in {seconds:.0f} s", flush=True)
            conn.execute("ANALYZE document_chunks")
            print(header)
            for org in targets:  # before any organisation has its own index
                queries, truths = workload[org.label]
                print_results(
                    org,
                    [
                        measure(
                            f"before: shared index + filter, ef_search={ef}",
                            lambda q, ef=ef, o=org: [
                                (r[0], r[2], float(r[6])) for r in shared_index_search(conn, o, q, args.dim, ef)
                            ],
                            queries,
                            truths,
                        )
                        for ef in args.ef_search
                    ],
                )

        for org in orgs:
            name, seconds = timed(lambda o=org: search_plan.ensure_org_vector_index(conn, o.id, MODEL, args.dim))
            if name:
                print(f"{org.label}'s own HNSW index ({org.size:,} chunks) built in {seconds:.0f} s", flush=True)
        conn.execute("ANALYZE document_chunks")
        print(header)
        for org in targets:
            queries, truths = workload[org.label]
            print_results(
                org,
                [
                    measure(
                        f"after: search_plan, ef_search={ef}",
                        lambda q, ef=ef, o=org: [
                            (h.document_id, h.chunk_index, h.score)
                            for h in store.search(conn, o.id, q, MODEL, args.dim, 10, ef_search=ef)
                        ],
                        queries,
                        truths,
                    )
                    for ef in args.ef_search
                ],
            )
            plan = search_plan.plan_search(conn, org.id, MODEL, args.dim, "org")
            query_sql = search_plan.planned_search_sql(plan, args.dim, MODEL, "org", org.id)
            params = {
                "query": store.vector_literal(queries[0].tolist()),
                "org_id": org.id,
                "agent_id": None,
                "top_k": 10,
            }
            print(f"{'':<16}plan: {plan.strategy} -> {plan_text(conn, query_sql, params) if query_sql else '-'}")


if __name__ == "__main__":
    main()
