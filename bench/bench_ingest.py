"""Document memory benchmark on the embedded PostgreSQL (pgserver + pgvector). Prints figures.

    python bench/bench_ingest.py                # full run (~5-8 min on 2 cores)
    python bench/bench_ingest.py --org-chunks 20000 --other-orgs 1 --other-chunks 5000   # quick look

1. Ingest throughput of a generated 100-page PDF: extract, chunk, embed (configured local model),
   write; pages/s and chunks/s per stage.
2. Writing the same chunks with COPY versus row-by-row INSERT, in the same run.
3. Search over `--org-chunks` chunks in one organisation among `--other-orgs` others: HNSW p50/p95
   latency and recall@10 against exact search (same query with index scans disabled), for several
   hnsw.ef_search values. Vectors are random unit vectors of the model's dimension; queries are
   stored vectors plus noise, so true neighbours exist. Random vectors are a hard case for HNSW:
   real text embeddings cluster and reach higher recall at the same settings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from phi.db import documents as store
from phi.documents.chunking import chunk
from phi.documents.extract import extract
from phi.documents.ingest import embedding_input
from phi.documents.models import Chunk
from phi.embedded.postgres import scratch_database
from phi.embeddings import get_embedding_provider
from phi.settings import Settings

T = TypeVar("T")

TOPICS = [
    ("Receiving", "inbound trucks, seal numbers, delivery notes and counted pallets"),
    ("Putaway", "suggested bins, heavy items on low beams and the golden zone"),
    ("Picking", "waves, barcode scans, short picks and replenishment tasks"),
    ("Shipping", "staging lanes, manifests, stretch wrap and SSCC labels"),
    ("Safety", "forklift checks, pedestrian walkways, racking inspections and spills"),
]


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def make_100_page_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    for page in range(1, 101):
        pdf.add_page()
        title, subject = TOPICS[page % len(TOPICS)]
        pdf.multi_cell(0, 5, f"{title} procedure, part {page}", new_x="LMARGIN", new_y="NEXT")
        for paragraph in range(4):
            sentences = " ".join(
                f"Step {paragraph}.{s}: staff handle {subject} as agreed in section {page}.{s}." for s in range(5)
            )
            pdf.multi_cell(0, 5, sentences, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    return bytes(pdf.output())


def new_document(conn: psycopg.Connection[Any], org_id: uuid.UUID, name: str) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO documents (org_id, filename, source_type, s3_key, bytes, sha256)"
        " VALUES (%s, %s, 'SOP', %s, 0, %s) RETURNING id",
        (org_id, name, name, uuid.uuid4().hex),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def new_org(conn: psycopg.Connection[Any]) -> uuid.UUID:
    org_id = uuid.uuid4()
    conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'Bench org')", (org_id,))
    return org_id


def bench_pdf_ingest(conn: psycopg.Connection[Any]) -> tuple[list[Chunk], list[list[float]], str]:
    embedder = get_embedding_provider(Settings())
    embedder.embed(["warm up"])  # model load is reported by bench_embeddings_quality.py
    data, generate_seconds = timed(make_100_page_pdf)
    document, extract_seconds = timed(lambda: extract(data, "bench.pdf"))
    chunks, chunk_seconds = timed(lambda: chunk(document))
    vectors, embed_seconds = timed(lambda: embedder.embed([embedding_input(item) for item in chunks]))
    org_id = new_org(conn)
    document_id = new_document(conn, org_id, "bench.pdf")

    def write() -> None:
        with conn.transaction():
            store.write_chunks(conn, document_id, org_id, None, chunks, vectors, embedder.model_id)

    _, write_seconds = timed(write)
    pages = len(document.pages)
    total = extract_seconds + chunk_seconds + embed_seconds + write_seconds
    size_kib = len(data) / 1024
    print(f"\n## Ingest of a generated {pages}-page PDF ({size_kib:.0f} KiB, made in {generate_seconds:.1f} s)")
    print(f"model {embedder.model_id} ({embedder.dimension} dims); {len(chunks)} chunks")
    print(f"{'stage':<10}{'seconds':>10}{'pages/s':>12}{'chunks/s':>12}")
    for stage, seconds in (
        ("extract", extract_seconds),
        ("chunk", chunk_seconds),
        ("embed", embed_seconds),
        ("write", write_seconds),
        ("total", total),
    ):
        print(f"{stage:<10}{seconds:>10.3f}{pages / seconds:>12.1f}{len(chunks) / seconds:>12.1f}")
    return chunks, vectors, embedder.model_id


def bench_copy_vs_insert(
    conn: psycopg.Connection[Any], chunks: list[Chunk], vectors: list[list[float]], model_id: str, rows: int
) -> None:
    """The same chunks written three ways, each in one transaction: the binary COPY of write_chunks (vectors
    in pgvector's binary format straight from a numpy array), the text COPY it replaced, and row-by-row INSERT."""
    repeats = -(-rows // len(chunks))
    many_chunks = [
        item.model_copy(update={"index": r * len(chunks) + item.index}) for r in range(repeats) for item in chunks
    ][:rows]
    matrix = np.tile(np.asarray(vectors, dtype=np.float32), (repeats, 1))[:rows]
    org_id = new_org(conn)
    columns = (
        "document_id, org_id, agent_id, chunk_index, text, page, heading, content_hash, embedding, embedding_model"
    )

    def binary_copy(full_text: bool = False, vectors: np.ndarray = matrix) -> None:
        document_id = new_document(conn, org_id, "copy.pdf")
        with conn.transaction():
            store.write_chunks(conn, document_id, org_id, None, many_chunks, vectors, model_id, full_text=full_text)

    def text_copy() -> None:  # the previous write_chunks: vectors formatted as text in Python
        document_id = new_document(conn, org_id, "text-copy.pdf")
        statement = f"COPY document_chunks ({columns}) FROM STDIN"
        with conn.transaction(), conn.cursor() as cursor, cursor.copy(statement) as copy:
            for item, vector in zip(many_chunks, matrix.tolist(), strict=True):
                copy.write_row(
                    (
                        document_id,
                        org_id,
                        None,
                        item.index,
                        item.text,
                        item.page,
                        item.heading,
                        item.content_hash,
                        store.vector_literal(vector),
                        model_id,
                    )
                )

    def row_by_row() -> None:
        document_id = new_document(conn, org_id, "insert.pdf")
        with conn.transaction(), conn.cursor() as cursor:
            for item, vector in zip(many_chunks, matrix.tolist(), strict=True):
                cursor.execute(
                    f"INSERT INTO document_chunks ({columns})"
                    " VALUES (%s, %s, NULL, %s, %s, %s, %s, %s, %s::vector, %s)",
                    (
                        document_id,
                        org_id,
                        item.index,
                        item.text,
                        item.page,
                        item.heading,
                        item.content_hash,
                        store.vector_literal(vector),
                        model_id,
                    ),
                )

    _, copy_seconds = timed(binary_copy)
    _, full_text_seconds = timed(lambda: binary_copy(full_text=True))
    _, text_seconds = timed(text_copy)
    _, insert_seconds = timed(row_by_row)
    # As ingest writes in production: the model's partial HNSW index exists and every vector is inserted into
    # its graph (built here over the rows written above, then one more binary COPY).
    # The tiled vectors repeat every 300 rows; a little noise keeps the graph from filling with exact duplicates.
    noisy = matrix + np.random.default_rng(7).normal(0, 0.02, matrix.shape).astype(np.float32)
    store.ensure_vector_index(conn, model_id, matrix.shape[1])
    _, indexed_seconds = timed(lambda: binary_copy(vectors=noisy))
    print(f"\n## Writing {rows:,} chunks ({matrix.shape[1]} dims) in one transaction")
    print(f"{'method':<58}{'seconds':>10}{'chunks/s':>12}")
    for label, seconds in (
        ("binary COPY (numpy -> pgvector; hybrid search off)", copy_seconds),
        ("binary COPY + full-text vectors (hybrid search on)", full_text_seconds),
        ("text COPY (previous)", text_seconds),
        ("row-by-row INSERT (baseline)", insert_seconds),
        ("binary COPY, the model's HNSW index present (as ingest)", indexed_seconds),
    ):
        print(f"{label:<58}{seconds:>10.2f}{rows / seconds:>12.0f}")
    print(
        f"binary COPY is {insert_seconds / copy_seconds:.1f}x row-by-row INSERT and "
        f"{text_seconds / copy_seconds:.1f}x the text COPY; the HNSW index makes it "
        f"{indexed_seconds / copy_seconds:.1f}x slower"
    )


def random_unit_vectors(rng: np.random.Generator, count: int, dimension: int) -> np.ndarray:
    matrix = rng.standard_normal((count, dimension)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def load_random_chunks(
    conn: psycopg.Connection[Any], org_id: uuid.UUID, matrix: np.ndarray, model_id: str, batch: int = 20_000
) -> None:
    for start in range(0, len(matrix), batch):
        document_id = new_document(conn, org_id, f"synthetic-{start}.pdf")
        part = matrix[start : start + batch]
        chunks = [
            Chunk(index=i, text=f"synthetic chunk {start + i}", page=1 + i // 4, heading=None, content_hash="-")
            for i in range(len(part))
        ]
        with conn.transaction():
            store.write_chunks(conn, document_id, org_id, None, chunks, part, model_id)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


_SUBJECTS = [
    "Pickers",
    "The shift lead",
    "Forklift drivers",
    "The dock supervisor",
    "Receiving staff",
    "Packers",
    "The safety officer",
    "The inventory controller",
    "Loaders",
    "The night shift",
]
_ACTIONS = ["check", "scan", "count", "report", "label", "inspect", "stage", "wrap", "replenish", "escalate"]
_OBJECTS = [
    "damaged pallets",
    "late shipments",
    "open orders",
    "carrier pickups",
    "bin locations",
    "cycle counts",
    "hazardous goods",
    "returns",
    "cold-chain cartons",
    "oversized parcels",
    "pick lists",
    "dock doors",
]
_WHERE = [
    "in zone A",
    "in the freezer aisle",
    "at dock 3",
    "in the mezzanine",
    "at the returns desk",
    "in bulk storage",
    "at the packing benches",
    "in the yard",
    "at goods-in",
    "at the despatch lanes",
]
_WHEN = [
    "before the 10:00 wave",
    "at the start of every shift",
    "after a scanner outage",
    "at month end",
    "when a carrier misses its slot",
    "during peak season",
    "before 09:00",
    "within 30 minutes",
]


def synthetic_passages(rng: np.random.Generator, count: int) -> list[str]:
    """SOP-like sentences from a warehouse vocabulary: real embeddings have the neighbourhood structure that
    uniformly random vectors lack."""
    parts = (_SUBJECTS, _ACTIONS, _OBJECTS, _WHERE, _WHEN)
    picks = [rng.integers(0, len(p), count) for p in parts]
    return [
        f"{_SUBJECTS[a]} {_ACTIONS[b]} {_OBJECTS[c]} {_WHERE[d]} {_WHEN[e]} (rule {i})."
        for i, (a, b, c, d, e) in enumerate(zip(*picks, strict=True))
    ]


def embedded_vectors(texts: list[str]) -> np.ndarray:
    from phi.embeddings.local import LocalEmbeddings

    return np.asarray(LocalEmbeddings("wordllama-l2-supercat-256").embed(texts), dtype=np.float32)


def bench_search(conn: psycopg.Connection[Any], args: argparse.Namespace, dimension: int) -> None:
    rng = np.random.default_rng(42)
    real = args.vectors == "wordllama"
    if real:
        dimension = 256
        make: Callable[[int], np.ndarray] = lambda n: embedded_vectors(synthetic_passages(rng, n))  # noqa: E731
    else:
        make = lambda n: random_unit_vectors(rng, n, dimension)  # noqa: E731
    model_id = f"bench-{args.vectors}-{dimension}"
    target_org = new_org(conn)
    started = time.perf_counter()
    target = make(args.org_chunks)
    load_random_chunks(conn, target_org, target, model_id)
    for _ in range(args.other_orgs):
        load_random_chunks(conn, new_org(conn), make(args.other_chunks), model_id)
    load_seconds = time.perf_counter() - started
    conn.execute("SET maintenance_work_mem = '1GB'")  # the graph must fit in memory to build fast
    conn.execute("SET max_parallel_maintenance_workers = 1")
    _, index_seconds = timed(lambda: store.ensure_vector_index(conn, model_id, dimension))
    conn.execute("ANALYZE document_chunks")
    total = args.org_chunks + args.other_orgs * args.other_chunks

    noise = rng.standard_normal((args.queries, dimension)).astype(np.float32) * 0.8 / np.sqrt(dimension)
    picks = target[rng.integers(0, len(target), args.queries)] + noise
    queries = (picks / np.linalg.norm(picks, axis=1, keepdims=True)).tolist()
    exact = [exact_top_ids(conn, target_org, query, model_id, dimension) for query in queries]

    orgs = args.other_orgs + 1
    print(f"\n## Search: {args.org_chunks:,} chunks in the searched organisation, {total:,} in {orgs} orgs")
    kind = "WordLlama embeddings of synthetic SOP sentences" if real else "random unit vectors"
    print(f"vectors: {kind}, {dimension} dims; made and loaded with COPY in {load_seconds:.0f} s")
    print(f"HNSW m={store.HNSW_M}, ef_construction={store.HNSW_EF_CONSTRUCTION}, built in {index_seconds:.0f} s")
    print(f"{args.queries} queries, top_k=10; exact = same query with index scans disabled")
    print(f"plan: {search_plan(conn, target_org, queries[0], model_id, dimension)}")
    print(f"{'ef_search':>10}{'p50 ms':>10}{'p95 ms':>10}{'recall@10':>12}")
    for ef_search in (40, 100, 200, 400):
        latencies, recalls = [], []
        for query, truth in zip(queries, exact, strict=True):
            search = partial(store.search, conn, target_org, query, model_id, dimension, 10, ef_search=ef_search)
            hits, seconds = timed(search)
            latencies.append(seconds * 1000)
            recalls.append(len({(h.document_id, h.chunk_index) for h in hits} & truth) / 10)
        print(
            f"{ef_search:>10}{percentile(latencies, 0.5):>10.1f}{percentile(latencies, 0.95):>10.1f}"
            f"{statistics.mean(recalls):>12.3f}"
        )
    exact_latencies = []
    for query in queries[:20]:
        _, seconds = timed(partial(exact_top_ids, conn, target_org, query, model_id, dimension))
        exact_latencies.append(seconds * 1000)
    p50, p95 = percentile(exact_latencies, 0.5), percentile(exact_latencies, 0.95)
    print(f"{'exact':>10}{p50:>10.1f}{p95:>10.1f}{1.0:>12.3f}")


def search_plan(
    conn: psycopg.Connection[Any], org_id: uuid.UUID, query: list[float], model_id: str, dimension: int
) -> str:
    """How PostgreSQL runs the search: the scan nodes of its plan, to show whether the HNSW index is used."""
    params = {"query": store.vector_literal(query), "org_id": org_id, "agent_id": None, "top_k": 10}
    with conn.transaction():
        rows = conn.execute(sql.SQL("EXPLAIN ") + store.search_sql(dimension, model_id, "org"), params).fetchall()
    scans = [str(row[0]).strip().lstrip("-> ") for row in rows if "Scan" in str(row[0])]
    return "; ".join(scans)


def exact_top_ids(
    conn: psycopg.Connection[Any], org_id: uuid.UUID, query: list[float], model_id: str, dimension: int
) -> set[tuple[uuid.UUID, int]]:
    with conn.transaction():
        conn.execute("SET LOCAL enable_indexscan = off")
        rows = conn.execute(
            store.search_sql(dimension, model_id, "org"),
            {"query": store.vector_literal(query), "org_id": org_id, "agent_id": None, "top_k": 10},
        ).fetchall()
    return {(row[0], row[2]) for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--org-chunks", type=int, default=100_000)
    parser.add_argument("--other-orgs", type=int, default=3)
    parser.add_argument("--other-chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--write-rows", type=int, default=5_000)
    parser.add_argument("--write-only", action="store_true", help="stop after the chunk-writing comparison")
    parser.add_argument(
        "--vectors",
        choices=["wordllama", "random"],
        default="wordllama",
        help="search corpus: real embeddings of synthetic passages, or uniformly random vectors",
    )
    args = parser.parse_args()
    with scratch_database("phi_bench") as url, psycopg.connect(url, autocommit=True) as conn:
        chunks, vectors, model_id = bench_pdf_ingest(conn)
        bench_copy_vs_insert(conn, chunks, vectors, model_id, args.write_rows)
        if args.write_only:
            return
        bench_search(conn, args, dimension=len(vectors[0]))


if __name__ == "__main__":
    main()
