"""Multi-vector search on the real PostgreSQL + pgvector: ingest stores a vector per sentence piece of each chunk,
and search re-ranks the nearest chunks by the mean of their own similarity and their best piece's."""

from __future__ import annotations

import math
import random
import uuid

import psycopg
import pytest

from phi.db import documents as repo
from phi.db import search_plan
from phi.documents.chunking import chunk, chunk_pieces
from phi.documents.extract import extract
from phi.documents.ingest import ingest_document
from phi.documents.models import Chunk
from phi.embeddings.local import WORDLLAMA, LocalEmbeddings
from tests.support.documents_db import add_document

DIMENSION = 4
QUERY = [1.0, 0.0, 0.0, 0.0]


def at(similarity: float, axis: int = 1) -> list[float]:
    """A unit vector whose cosine similarity with QUERY is `similarity`."""
    vector = [similarity, 0.0, 0.0, 0.0]
    vector[axis] = math.sqrt(1 - similarity * similarity)
    return vector


def write(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    model_id: str,
    chunk_vectors: list[list[float]],
    pieces: dict[int, list[list[float]]],
) -> uuid.UUID:
    document_id = add_document(conn, org_id, f"{uuid.uuid4().hex}.md", uuid.uuid4().bytes)
    chunks = [
        Chunk(index=i, text=f"chunk {i}", page=None, heading=None, content_hash=str(i))
        for i in range(len(chunk_vectors))
    ]
    keys = [(index, n) for index, vectors in pieces.items() for n in range(len(vectors))]
    with conn.transaction():
        repo.write_chunks(conn, document_id, org_id, None, chunks, chunk_vectors, model_id)
        repo.write_chunk_pieces(conn, document_id, keys, [v for vectors in pieces.values() for v in vectors])
        repo.mark_ready(conn, document_id, pages=None, chunk_count=len(chunks), model_id=model_id)
    return document_id


def test_a_chunk_with_a_sentence_that_matches_outranks_one_that_is_only_vaguely_close(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    model_id = f"pieces-model-{uuid.uuid4().hex[:6]}"
    write(
        conn,
        new_org,
        model_id,
        [at(0.8), at(0.7, axis=2), at(0.6, axis=3)],
        {0: [at(0.5), at(0.4, axis=2)], 1: [at(0.2, axis=3), QUERY]},  # chunk 2: written without pieces
    )

    hits = repo.search(conn, new_org, QUERY, model_id, DIMENSION, top_k=3)
    plain = repo.search(conn, new_org, QUERY, model_id, DIMENSION, top_k=3, pieces=False)

    assert [hit.chunk_index for hit in hits] == [1, 0, 2]
    # the mean of the chunk's similarity and its best piece's; a chunk without pieces keeps its own
    assert [hit.score for hit in hits] == pytest.approx([(0.7 + 1.0) / 2, (0.8 + 0.5) / 2, 0.6])
    assert [hit.chunk_index for hit in plain] == [0, 1, 2]
    assert [hit.score for hit in plain] == pytest.approx([0.8, 0.7, 0.6])
    assert [hit.chunk_index for hit in repo.search(conn, new_org, QUERY, model_id, DIMENSION, top_k=1)] == [1]


def test_pieces_rescore_the_candidates_of_the_shared_hnsw_index_too(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    model_id = f"pieces-model-{uuid.uuid4().hex[:6]}"
    rng = random.Random(5)
    noise = [
        [rng.uniform(-0.2, 0.2), *(rng.gauss(0, 1) for _ in range(3))] for _ in range(search_plan.EXACT_MAX_CHUNKS)
    ]
    vectors = [[v / math.sqrt(sum(x * x for x in row)) for v in row] for row in noise]
    write(conn, new_org, model_id, [at(0.9), at(0.85, axis=2), *vectors], {1: [QUERY]})
    repo.ensure_vector_index(conn, model_id, DIMENSION)
    conn.execute("ANALYZE document_chunks")
    plan = search_plan.plan_search(conn, new_org, model_id, DIMENSION, "org")
    assert plan.strategy == "shared_index"

    hits = repo.search(conn, new_org, QUERY, model_id, DIMENSION, top_k=2)

    assert [hit.chunk_index for hit in hits] == [1, 0]
    assert [hit.score for hit in hits] == pytest.approx([(0.85 + 1.0) / 2, 0.9])


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> LocalEmbeddings:
    pytest.importorskip("wordllama")
    return LocalEmbeddings(WORDLLAMA.model_id, cache_dir=tmp_path_factory.mktemp("embeddings"))


SOP = (
    b"# Receiving\n\n## Seal check\n\nOn arrival the clerk checks the seal number against the shipping notice. "
    b"A broken seal is photographed and reported to the shift supervisor.\n\n"
    b"## Damaged deliveries\n\nDamaged cartons are set aside in the quarantine bay. They are photographed from two "
    b"sides and logged as a receiving exception."
)


def pieces_of(conn: psycopg.Connection, document_id: uuid.UUID) -> list[tuple[int, int]]:
    rows = conn.execute(
        "SELECT chunk_index, piece_index FROM document_chunk_pieces WHERE document_id = %s"
        " ORDER BY chunk_index, piece_index",
        (document_id,),
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def test_ingest_stores_one_vector_per_piece_replaces_them_on_reingest_and_deletes_them_with_the_document(
    conn: psycopg.Connection, new_org: uuid.UUID, embedder: LocalEmbeddings
) -> None:
    document_id = add_document(conn, new_org, "receiving.md", SOP)
    expected = [(item.index, n) for item in chunk(extract(SOP, "receiving.md")) for n in range(len(chunk_pieces(item)))]
    assert expected == [(0, 0), (0, 1), (1, 0), (1, 1)]

    assert ingest_document(conn, document_id, SOP, embedder).status == "READY"
    assert pieces_of(conn, document_id) == expected
    assert ingest_document(conn, document_id, SOP, embedder).status == "READY"
    assert pieces_of(conn, document_id) == expected

    [vector] = embedder.embed(["who is told about a broken seal"])
    hits = repo.search(conn, new_org, vector, embedder.model_id, embedder.dimension, top_k=2)
    assert hits[0].heading == "Receiving > Seal check"
    assert hits[0].score > hits[1].score

    repo.delete(conn, document_id, new_org)
    assert pieces_of(conn, document_id) == []


def test_pieces_beyond_one_copy_block_are_all_written(conn: psycopg.Connection, new_org: uuid.UUID) -> None:
    model_id = f"pieces-model-{uuid.uuid4().hex[:6]}"
    chunks = 500
    pieces = {index: [at(0.1 + 0.8 * n / 10, axis=1 + n % 3) for n in range(10)] for index in range(chunks)}
    assert chunks * 10 > repo._COPY_BLOCK_ROWS

    document_id = write(conn, new_org, model_id, [at(0.5)] * chunks, pieces)

    stored = pieces_of(conn, document_id)
    assert len(stored) == chunks * 10
    assert stored[:3] == [(0, 0), (0, 1), (0, 2)] and stored[-1] == (chunks - 1, 9)
    [hit] = repo.search(conn, new_org, QUERY, model_id, DIMENSION, top_k=1)
    assert hit.score == pytest.approx((0.5 + 0.82) / 2)
