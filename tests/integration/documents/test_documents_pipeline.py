"""Ingest and search against a real PostgreSQL with pgvector, using the real WordLlama model."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest

from phi.db import documents as repo
from phi.documents.extract import ExtractionLimits
from phi.documents.ingest import ingest_document
from phi.documents.models import Chunk
from phi.embeddings.base import EmbeddingUnavailable
from phi.embeddings.local import WORDLLAMA, LocalEmbeddings
from tests.support.document_samples import make_docx, make_pdf, make_zip_bomb
from tests.support.documents_db import add_agent, add_document

SOP_PAGES = [
    "Receiving. Inbound trucks must book a dock slot 24 hours in advance. The clerk checks the seal number "
    "against the advance shipping notice and photographs a broken seal.",
    "Forklift safety. Forklift speed inside the building is limited to 6 km/h. Operators check brakes, horn "
    "and battery before every shift.",
    "Cold chain. The chilled zone stays between 2 and 8 degrees Celsius; an alarm goes to the manager.",
]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> LocalEmbeddings:
    pytest.importorskip("wordllama")
    return LocalEmbeddings(WORDLLAMA.model_id, cache_dir=tmp_path_factory.mktemp("embeddings"))


def document_row(conn: psycopg.Connection, document_id: uuid.UUID) -> dict[str, Any]:
    cursor = conn.execute(
        "SELECT status, error, pages, chunk_count, embedding_model FROM documents WHERE id = %s",
        (document_id,),
    )
    names = [column.name for column in cursor.description or []]
    row = cursor.fetchone()
    assert row is not None
    return dict(zip(names, row, strict=True))


def chunk_count(conn: psycopg.Connection, document_id: uuid.UUID) -> int:
    row = conn.execute("SELECT count(*) FROM document_chunks WHERE document_id = %s", (document_id,)).fetchone()
    assert row is not None
    return int(row[0])


def ask(conn: psycopg.Connection, embedder: LocalEmbeddings, org_id: uuid.UUID, question: str, **kw: Any) -> Any:
    [vector] = embedder.embed([question])
    return repo.search(conn, org_id, vector, embedder.model_id, embedder.dimension, **kw)


def test_pdf_is_ingested_and_found_with_page_and_score(
    conn: psycopg.Connection, new_org: uuid.UUID, embedder: LocalEmbeddings
) -> None:
    data = make_pdf([" ".join([page] * 4) for page in SOP_PAGES])  # a page is about one chunk
    document_id = add_document(conn, new_org, "warehouse-sop.pdf", data)

    outcome = ingest_document(conn, document_id, data, embedder)

    assert outcome.status == "READY"
    assert document_row(conn, document_id) == {
        "status": "READY",
        "error": None,
        "pages": 3,
        "chunk_count": outcome.chunk_count,
        "embedding_model": WORDLLAMA.model_id,
    }
    hits = ask(conn, embedder, new_org, "how fast can lift trucks go indoors", top_k=2)
    assert hits[0].filename == "warehouse-sop.pdf"
    assert hits[0].page == 2
    assert "6 km/h" in hits[0].text
    assert hits[0].score > hits[1].score


def test_reingesting_the_same_document_replaces_its_chunks(
    conn: psycopg.Connection, new_org: uuid.UUID, embedder: LocalEmbeddings
) -> None:
    data = make_docx([("Heading 1", "Returns"), ("", "Returns are graded as resaleable, repairable or scrap.")])
    document_id = add_document(conn, new_org, "returns.docx", data)

    first = ingest_document(conn, document_id, data, embedder)
    second = ingest_document(conn, document_id, data, embedder)

    assert first.status == second.status == "READY"
    assert chunk_count(conn, document_id) == first.chunk_count == second.chunk_count
    hits = ask(conn, embedder, new_org, "returned goods grading")
    assert [hit.heading for hit in hits] == ["Returns"]
    assert hits[0].page is None


def test_uploading_the_same_content_again_adds_no_chunks(
    conn: psycopg.Connection, new_org: uuid.UUID, embedder: LocalEmbeddings
) -> None:
    data = b"# Yard\n\nTrailers waiting over two hours are escalated."
    original = add_document(conn, new_org, "yard.md", data)
    copy = add_document(conn, new_org, "yard (1).md", data)
    assert ingest_document(conn, original, data, embedder).status == "READY"

    outcome = ingest_document(conn, copy, data, embedder)

    assert outcome.status == "FAILED"
    assert outcome.duplicate_of == original
    assert document_row(conn, copy)["error"] == f"duplicate: the same content is already in READY document {original}"
    assert chunk_count(conn, copy) == 0
    assert len(ask(conn, embedder, new_org, "trailer waiting time")) == 1


def test_content_of_a_failed_document_arriving_by_upload_url_is_failed_as_its_duplicate(
    conn: psycopg.Connection, new_org: uuid.UUID, embedder: LocalEmbeddings
) -> None:
    data = make_pdf(["A page that gets truncated."])[:400]
    first = add_document(conn, new_org, "scan.pdf", data)
    assert ingest_document(conn, first, data, embedder).status == "FAILED"
    again = add_document(conn, new_org, "scan-again.pdf", data)  # as a pre-signed upload records it

    outcome = ingest_document(conn, again, data, embedder)

    assert outcome.status == "FAILED"
    assert outcome.reason is not None
    assert outcome.reason.startswith(f"duplicate of 'scan.pdf' (document {first}), which has the same content")
    assert "corrupt PDF" in outcome.reason
    assert document_row(conn, again)["error"] == outcome.reason


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("corrupt.pdf", make_pdf(["A page that gets truncated."])[:400], "corrupt PDF"),
        ("empty.txt", b"", "empty file (0 bytes)"),
        ("bomb.docx", make_zip_bomb(40 * 1024 * 1024), "rejected as a zip bomb"),
        ("photo.jpg", b"\xff\xd8\xff\xe0 jpeg bytes", "unsupported file type '.jpg'"),
        ("fake.pdf", b"hello, not a pdf", "is not a PDF"),
        ("huge.txt", b"word " * 30_000, "file too large"),
    ],
)
def test_bad_input_fails_only_that_document_with_its_reason(
    conn: psycopg.Connection,
    new_org: uuid.UUID,
    embedder: LocalEmbeddings,
    filename: str,
    data: bytes,
    reason: str,
) -> None:
    good_data = make_pdf(SOP_PAGES[2:])
    good = add_document(conn, new_org, "cold-chain.pdf", good_data)
    assert ingest_document(conn, good, good_data, embedder).status == "READY"
    bad = add_document(conn, new_org, filename, data)

    outcome = ingest_document(conn, bad, data, embedder, ExtractionLimits(max_bytes=100_000))

    assert outcome.status == "FAILED"
    row = document_row(conn, bad)
    assert row["status"] == "FAILED"
    assert reason in row["error"]
    assert chunk_count(conn, bad) == 0
    assert document_row(conn, good)["status"] == "READY"
    assert [hit.document_id for hit in ask(conn, embedder, new_org, "chilled zone temperature")] == [good]


class UnavailableEmbedder:
    model_id = WORDLLAMA.model_id
    dimension = WORDLLAMA.dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise EmbeddingUnavailable("HTTP 503 after 6 attempts")


class BrokenEmbedder(UnavailableEmbedder):
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise RuntimeError("bug")


def test_transient_errors_propagate_and_leave_the_document_processing(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    data = b"Scanner batteries are swapped at the start of each shift."
    document_id = add_document(conn, new_org, "scanners.txt", data)

    with pytest.raises(EmbeddingUnavailable):
        ingest_document(conn, document_id, data, UnavailableEmbedder())

    assert document_row(conn, document_id)["status"] == "PROCESSING"


def test_unexpected_errors_fail_the_document_with_the_error_type(conn: psycopg.Connection, new_org: uuid.UUID) -> None:
    data = b"Visitors sign in at reception."
    document_id = add_document(conn, new_org, "visitors.txt", data)

    outcome = ingest_document(conn, document_id, data, BrokenEmbedder())

    reason = (
        "internal error while processing the document (RuntimeError: bug); upload it again, or report it if it recurs"
    )
    assert (outcome.status, outcome.reason) == ("FAILED", reason)
    assert document_row(conn, document_id)["error"] == reason


def test_search_never_crosses_organisations_and_honours_agent_scope(
    conn: psycopg.Connection, embedder: LocalEmbeddings
) -> None:
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    for org in (org_a, org_b):
        conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'Documents test org')", (org,))
    agent_1, agent_2 = add_agent(conn, org_a), add_agent(conn, org_a)
    text = b"Forklift speed inside the building is limited to 6 km/h."
    docs = {
        "a-wide": add_document(conn, org_a, "a-wide.txt", text + b" Org wide."),
        "a-agent1": add_document(conn, org_a, "a-agent1.txt", text + b" Agent one.", agent_1),
        "a-agent2": add_document(conn, org_a, "a-agent2.txt", text + b" Agent two.", agent_2),
        "b-wide": add_document(conn, org_b, "b-wide.txt", text + b" Other company."),
    }
    for name, document_id in docs.items():
        data = text + {"a-wide": b" Org wide.", "a-agent1": b" Agent one.", "a-agent2": b" Agent two."}.get(
            name, b" Other company."
        )
        assert ingest_document(conn, document_id, data, embedder).status == "READY"

    def names(org: uuid.UUID, **kw: Any) -> set[str]:
        return {hit.filename.removesuffix(".txt") for hit in ask(conn, embedder, org, "forklift speed", **kw)}

    assert names(org_a) == {"a-wide", "a-agent1", "a-agent2"}
    assert names(org_b) == {"b-wide"}
    assert names(org_a, agent_id=agent_1) == {"a-wide", "a-agent1"}
    assert names(org_a, agent_id=agent_1, include_org_wide=False) == {"a-agent1"}
    assert names(uuid.uuid4()) == set()


def random_unit_vector(rng: random.Random, dimension: int) -> list[float]:
    values = [rng.gauss(0, 1) for _ in range(dimension)]
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def test_search_uses_the_models_hnsw_index_and_small_orgs_still_get_results(
    conn: psycopg.Connection, embedder: LocalEmbeddings
) -> None:
    model_id, dimension = f"test-model-{uuid.uuid4().hex[:6]}", 16
    big_org, small_org = uuid.uuid4(), uuid.uuid4()
    for org in (big_org, small_org):
        conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'Documents test org')", (org,))
    rng = random.Random(7)
    with conn.transaction():
        for org, count in ((big_org, 3000), (small_org, 5)):
            document_id = add_document(conn, org, f"{org}.txt", org.bytes)
            chunks = [
                Chunk(index=i, text=f"chunk {i}", page=None, heading=None, content_hash=str(i)) for i in range(count)
            ]
            vectors = [random_unit_vector(rng, dimension) for _ in range(count)]
            repo.write_chunks(conn, document_id, org, None, chunks, vectors, model_id)
        index_name = repo.ensure_vector_index(conn, model_id, dimension)
        conn.execute("ANALYZE document_chunks")

    query = random_unit_vector(rng, dimension)
    plan_sql = repo.search_sql(dimension, model_id, "org")
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")  # the table is tiny; ask which index fits
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                b"EXPLAIN " + plan_sql.as_bytes(conn),
                {"query": repo.vector_literal(query), "org_id": big_org, "agent_id": None, "top_k": 10},
            )
        )
    assert f"Index Scan using {index_name}" in plan

    hits = repo.search(conn, big_org, query, model_id, dimension, top_k=10, ef_search=200)
    assert len(hits) == 10
    assert hits == sorted(hits, key=lambda hit: -hit.score)
    # 5 chunks among 3005: the graph walk alone would usually miss them; the exact fallback does not.
    assert len(repo.search(conn, small_org, query, model_id, dimension, top_k=10)) == 5
