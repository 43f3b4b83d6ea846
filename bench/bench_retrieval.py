"""Retrieval quality and latency of document search, end to end, before and after each change, in one run.

    python bench/bench_retrieval.py [--misses]
    PHI_EMBEDDING_MODEL=wordllama-l2-supercat-256 python bench/bench_retrieval.py   # the Lambda's model

The 64 SOP passages of bench/data become 21 Markdown SOPs ("# Receiving", then "## Dock appointments" and its
passage, ...), which go through the real chunker, the default embedding model (MiniLM) and the real
PostgreSQL + pgvector search of phi.db.documents. Questions: bench/data/sop_queries.jsonl plus our own
paraphrases in sop_queries_extra.jsonl. A hit counts for the passage whose text its chunk contains; a
title-only chunk counts for none. Variants:
- vector search over chunks where a chapter title is a chunk of its own (the previous chunker) — the baseline;
- vector search, heading-only fragments merged into their section;
- hybrid: the vector ranking fused with PostgreSQL full-text ranking (reciprocal rank fusion), both chunkings;
- sentence pieces: headings merged, and the nearest chunks re-ranked by the mean of their own similarity and their
  best sentence's (multi-vector, what ingest and search do now).
The questions are split in two fixed halves by a hash of their text (they have no id), A and B, reported apart:
a change tried on this set should win on both. `--misses` prints, for the last variant, every question whose
right passage is not first and what ranked above it.
Latency: the database search of every question (3 rounds), p50/p95 per variant; embedding the question costs the
same in every variant and is printed once.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from phi.db import documents as repo
from phi.documents.chunking import chunk
from phi.documents.extract import extract
from phi.documents.ingest import embed_chunks, embedding_input
from phi.documents.models import Chunk
from phi.embedded.postgres import scratch_database
from phi.embeddings import get_embedding_provider
from phi.embeddings.base import EmbeddingProvider
from phi.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
REPEATS = 3


class Query(BaseModel):
    query: str
    relevant: list[str]
    kind: str


def half(query: Query) -> str:
    """A fixed half of the questions, by a hash of the question text: "A" or "B"."""
    return "AB"[hashlib.sha256(query.query.encode()).digest()[0] % 2]


class Result(BaseModel):
    name: str
    recall_at_1: float
    recall_at_5: float
    halves: dict[str, tuple[float, float]]  # "A"/"B": (R@1, R@5)
    misses: list[str]
    paraphrase_recall_at_1: float
    p50_ms: float
    p95_ms: float
    heading_only_top1: int


def load() -> tuple[dict[str, str], dict[str, Any], list[Query]]:
    passages = {p["id"]: p["text"] for p in map(json.loads, (DATA / "sop_passages.jsonl").read_text().splitlines())}
    titles = json.loads((DATA / "sop_titles.json").read_text())
    queries = [
        Query.model_validate_json(line)
        for name in ("sop_queries.jsonl", "sop_queries_extra.jsonl")
        for line in (DATA / name).read_text().splitlines()
    ]
    return passages, titles, queries


def sop_documents(passages: dict[str, str], titles: dict[str, Any]) -> dict[str, str]:
    """One Markdown SOP per group: its title as a chapter heading, then one numbered section per passage."""
    documents: dict[str, list[str]] = {}
    for passage_id, text in passages.items():
        group = passage_id.split("-")[0]
        lines = documents.setdefault(group, [f"# {titles['groups'][group]}"])
        lines.append(f"## {len(lines)}. {titles['titles'][passage_id]}\n\n{text}")
    return {f"SOP-{group.upper()}.md": "\n\n".join(lines) for group, lines in documents.items()}


def passage_of(item: Chunk, passages: dict[str, str]) -> str | None:
    return next((pid for pid, text in passages.items() if text in item.text), None)


def ingest(
    conn: psycopg.Connection[Any],
    embedder: EmbeddingProvider,
    documents: dict[str, str],
    merge: bool,
    pieces: bool = False,
) -> tuple[uuid.UUID, dict[tuple[uuid.UUID, int], Chunk]]:
    org_id = uuid.uuid4()
    conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'Retrieval bench')", (org_id,))
    by_key: dict[tuple[uuid.UUID, int], Chunk] = {}
    for filename, text in documents.items():
        chunks = chunk(extract(text.encode(), filename), merge_heading_only=merge)
        document = repo.insert(
            conn,
            org_id=org_id,
            filename=filename,
            source_type="SOP",
            s3_key=filename,
            bytes=len(text),
            sha256=uuid.uuid4().hex,
        )
        if pieces:  # as phi.documents.ingest does
            both = embed_chunks(embedder, chunks)
            repo.write_chunks(conn, document.id, org_id, None, chunks, both.chunks, embedder.model_id, full_text=True)
            repo.write_chunk_pieces(conn, document.id, both.piece_keys, both.pieces)
        else:
            vectors = embedder.embed([embedding_input(item) for item in chunks])
            repo.write_chunks(conn, document.id, org_id, None, chunks, vectors, embedder.model_id, full_text=True)
        repo.mark_ready(conn, document.id, pages=None, chunk_count=len(chunks), model_id=embedder.model_id)
        by_key.update({(document.id, item.index): item for item in chunks})
    return org_id, by_key


def evaluate(
    name: str,
    conn: psycopg.Connection[Any],
    embedder: EmbeddingProvider,
    org_id: uuid.UUID,
    chunks: dict[tuple[uuid.UUID, int], Chunk],
    passages: dict[str, str],
    queries: list[Query],
    vectors: list[list[float]],
    text_weight: float | None,
    pieces: bool,
) -> Result:
    recall_1, recall_5, para_1, latencies, heading_only = [], [], [], [], 0
    by_half: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
    misses: list[str] = []
    for round_number in range(REPEATS):
        for query, vector in zip(queries, vectors, strict=True):
            started = time.perf_counter()
            hits = repo.search(
                conn,
                org_id,
                vector,
                embedder.model_id,
                embedder.dimension,
                top_k=5,
                query_text=query.query if text_weight else None,
                text_weight=text_weight or 0,
                pieces=pieces,
            )
            latencies.append(time.perf_counter() - started)
            if round_number > 0:
                continue
            ranked = [passage_of(chunks[(hit.document_id, hit.chunk_index)], passages) for hit in hits]
            relevant = set(query.relevant)
            top1 = 1.0 if ranked and ranked[0] in relevant else 0.0
            recall_1.append(top1)
            recall_5.append(len(relevant & set(ranked[:5])) / len(relevant))
            by_half[half(query)].append((top1, recall_5[-1]))
            if not top1:
                misses.append(f"{query.query!r} wants {'/'.join(query.relevant)}, got {ranked}")
            if query.kind == "paraphrase":
                para_1.append(top1)
            heading_only += bool(ranked) and ranked[0] is None
    quantiles = statistics.quantiles(latencies, n=100)
    return Result(
        name=name,
        recall_at_1=statistics.mean(recall_1),
        recall_at_5=statistics.mean(recall_5),
        halves={
            name: (statistics.mean(r[0] for r in rows), statistics.mean(r[1] for r in rows))
            for name, rows in by_half.items()
        },
        misses=misses,
        paraphrase_recall_at_1=statistics.mean(para_1),
        p50_ms=1000 * statistics.median(latencies),
        p95_ms=1000 * quantiles[94],
        heading_only_top1=heading_only,
    )


def main() -> None:
    passages, titles, queries = load()
    documents = sop_documents(passages, titles)
    embedder = get_embedding_provider(Settings())
    embedder.embed(["warm up"])
    paraphrases = sum(query.kind == "paraphrase" for query in queries)
    print(
        f"{len(queries)} questions ({paraphrases} paraphrases) over {len(passages)} passages in "
        f"{len(documents)} Markdown SOPs; model {embedder.model_id}; latency over {REPEATS} rounds",
        flush=True,
    )
    embed_times = []
    for query in queries[:10]:
        started = time.perf_counter()
        embedder.embed([query.query])
        embed_times.append(time.perf_counter() - started)
    vectors = embedder.embed([query.query for query in queries])
    embed_p95 = statistics.quantiles(embed_times, n=100)[94]
    print(
        f"embedding one question: p50 {1000 * statistics.median(embed_times):.1f} ms,"
        f" p95 {1000 * embed_p95:.1f} ms (every variant)\n",
        flush=True,
    )
    with scratch_database("phi_bench_retrieval") as url, psycopg.connect(url, autocommit=True) as conn:
        repo.ensure_vector_index(conn, embedder.model_id, embedder.dimension)
        old_org, old_chunks = ingest(conn, embedder, documents, merge=False)
        new_org, new_chunks = ingest(conn, embedder, documents, merge=True)
        pieces_org, pieces_chunks = ingest(conn, embedder, documents, merge=True, pieces=True)
        conn.execute("ANALYZE document_chunks")
        conn.execute("ANALYZE document_chunk_pieces")
        variants: list[tuple[str, uuid.UUID, dict[tuple[uuid.UUID, int], Chunk], float | None, bool]] = [
            ("vector, title-only chunks", old_org, old_chunks, None, False),
            ("vector, headings merged (before)", new_org, new_chunks, None, False),
            ("hybrid 1:1, title-only chunks", old_org, old_chunks, 1.0, False),
            ("hybrid 1:1, headings merged", new_org, new_chunks, 1.0, False),
            ("hybrid 1:0.5, headings merged", new_org, new_chunks, 0.5, False),
            ("hybrid 1:0.3, headings merged", new_org, new_chunks, 0.3, False),
            ("hybrid 1:0.15, headings merged", new_org, new_chunks, 0.15, False),
            ("vector + sentence pieces (after)", pieces_org, pieces_chunks, None, True),
        ]
        results = [
            evaluate(name, conn, embedder, org, chunks, passages, queries, vectors, weight, pieces)
            for name, org, chunks, weight, pieces in variants
        ]
    halves = "".join(f"{f'{name}({sum(half(q) == name for q in queries)}) R@1/R@5':>19}" for name in "AB")
    header = f"{'variant':<36}{'R@1':>7}{'R@5':>7}{'para R@1':>10}{halves}{'p50 ms':>9}{'p95 ms':>9}{'title #1':>10}"
    print(header)
    print("-" * len(header))
    for r in results:
        split = [f"{r.halves[name][0]:.3f}/{r.halves[name][1]:.3f}" for name in "AB"]
        print(
            f"{r.name:<36}{r.recall_at_1:>7.3f}{r.recall_at_5:>7.3f}{r.paraphrase_recall_at_1:>10.3f}"
            f"{split[0]:>19}{split[1]:>19}{r.p50_ms:>9.2f}{r.p95_ms:>9.2f}{r.heading_only_top1:>10}"
        )
    before, after = results[1], results[-1]
    print(
        f"\nafter vs before: R@1 {after.recall_at_1 - before.recall_at_1:+.3f}, "
        f"R@5 {after.recall_at_5 - before.recall_at_5:+.3f}, p95 {after.p95_ms / before.p95_ms:.2f}x"
    )
    if "--misses" in sys.argv:
        print(f"\n{after.name}: not first")
        for line in after.misses:
            print(f"  {line}")


if __name__ == "__main__":
    main()
