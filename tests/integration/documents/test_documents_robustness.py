"""Ingest bombs, dirty text and documents that would otherwise stay PROCESSING, on the real PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from phi.db import documents as repo
from phi.db.connection import close_pool
from phi.documents import search as search_module
from phi.documents.extract import ExtractionLimits
from phi.documents.ingest import ingest_document
from phi.documents.models import OutOfTime, SearchHit
from phi.documents.sweeper import sweep_documents
from phi.embeddings.base import EmbeddingUnavailable
from tests.conftest import apply_settings
from tests.support.document_samples import make_pdf_with_content_streams
from tests.support.documents_db import add_document
from tests.support.waiting import wait_until


class CountingEmbedder:
    """A tiny deterministic embedder that counts the texts it was asked for."""

    model_id = "counting-test-8"
    dimension = 8

    def __init__(self) -> None:
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts += len(texts)
        return [[1.0 + (len(text) % 7)] + [0.5] * 7 for text in texts]


class UnavailableEmbedder(CountingEmbedder):
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise EmbeddingUnavailable("HTTP 503 after 6 attempts")


def status_and_error(conn: psycopg.Connection, document_id: uuid.UUID) -> tuple[str, str | None]:
    row = conn.execute("SELECT status, error FROM documents WHERE id = %s", (document_id,)).fetchone()
    assert row is not None
    return row[0], row[1]


def test_a_pdf_bomb_fails_with_its_reason_before_anything_is_embedded(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    data = make_pdf_with_content_streams(pages=6, stream_bytes=500_000)
    document_id = add_document(conn, new_org, "bomb.pdf", data)
    embedder = CountingEmbedder()

    outcome = ingest_document(conn, document_id, data, embedder, ExtractionLimits(max_chars=200_000))

    assert outcome.status == "FAILED"
    assert status_and_error(conn, document_id) == (
        "FAILED",
        "too much text: more than 200,000 characters (reached on page 1 of 6), the limit per document;"
        " split it into smaller documents",
    )
    assert embedder.texts == 0


def test_a_document_of_too_many_chunks_fails_before_anything_is_embedded(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    data = "\n\n".join(f"# Rule {n}\n\nPallet rule number {n} is followed." for n in range(40)).encode()
    document_id = add_document(conn, new_org, "rules.md", data)
    embedder = CountingEmbedder()

    outcome = ingest_document(conn, document_id, data, embedder, ExtractionLimits(max_chunks=10))

    assert outcome.status == "FAILED"
    assert outcome.reason is not None and outcome.reason.startswith(
        "too many passages: the text makes more than 10 chunks, the limit per document"
    )
    assert embedder.texts == 0


def test_a_pdf_whose_text_holds_nul_characters_is_ingested(conn: psycopg.Connection, new_org: uuid.UUID) -> None:
    data = make_pdf_with_content_streams(pages=2, stream_bytes=200, text="Seal\\000 number\\000 checked")
    document_id = add_document(conn, new_org, "nul.pdf", data)

    outcome = ingest_document(conn, document_id, data, CountingEmbedder())

    assert outcome.status == "READY", outcome.reason
    texts = [row[0] for row in conn.execute("SELECT text FROM document_chunks WHERE document_id = %s", (document_id,))]
    assert texts and all("\x00" not in text for text in texts)
    assert "Seal number checked" in texts[0]


def test_a_transient_failure_is_noted_and_the_sweeper_fails_the_document_with_it(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    data = b"Scanner batteries are swapped at the start of each shift."
    document_id = add_document(conn, new_org, "scanners.txt", data)
    with pytest.raises(EmbeddingUnavailable):
        ingest_document(conn, document_id, data, UnavailableEmbedder())
    assert status_and_error(conn, document_id) == (
        "PROCESSING",
        "the last attempt failed: EmbeddingUnavailable: HTTP 503 after 6 attempts",
    )
    # Its retries ran out long ago (only this test's document is that old)
    conn.execute("UPDATE documents SET updated_at = now() - interval '30 days' WHERE id = %s", (document_id,))

    failed = repo.fail_stale_processing(conn, before=datetime.now(UTC) - timedelta(days=29))

    assert document_id in {document.id for document in failed}
    assert status_and_error(conn, document_id) == (
        "FAILED",
        "ingest did not finish: the last attempt failed: EmbeddingUnavailable: HTTP 503 after 6 attempts",
    )


def test_a_stopped_ingest_without_a_reason_is_failed_with_a_readable_one(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    document_id = add_document(conn, new_org, "killed.txt", b"The worker was killed.")
    conn.execute("UPDATE documents SET updated_at = now() - interval '30 days' WHERE id = %s", (document_id,))

    repo.fail_stale_processing(conn, before=datetime.now(UTC) - timedelta(days=29))

    status, error = status_and_error(conn, document_id)
    assert status == "FAILED"
    assert error == ("ingest did not finish: it stopped without a reason (the ingest worker timed out or was stopped)")


def test_an_unused_upload_url_ends_expired_and_recent_or_used_ones_are_left_alone(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    def presigned(age: str) -> uuid.UUID:
        row = conn.execute(
            "INSERT INTO documents (org_id, filename, source_type, s3_key, created_at, updated_at)"
            " VALUES (%s, 'big.pdf', 'SOP', 'k', now() - %s::interval, now() - %s::interval) RETURNING id",
            (new_org, age, age),
        ).fetchone()
        assert row is not None
        return row[0]

    unused, recent = presigned("30 days"), presigned("1 minute")
    used = add_document(conn, new_org, "used.txt", b"Arrived and is being ingested.")

    expired = repo.expire_unused_uploads(conn, before=datetime.now(UTC) - timedelta(days=29))

    assert unused in {document.id for document in expired}
    assert status_and_error(conn, unused) == ("EXPIRED", "the upload URL expired before a file was uploaded")
    assert status_and_error(conn, recent)[0] == "PROCESSING"
    assert status_and_error(conn, used)[0] == "PROCESSING"


def hybrid_search(
    conn: psycopg.Connection, org_id: uuid.UUID, embedder: CountingEmbedder, question: str, top_k: int
) -> list[SearchHit]:
    """Vector and full-text rankings fused 1:1."""
    [vector] = embedder.embed([question])
    return repo.search(
        conn, org_id, vector, embedder.model_id, embedder.dimension, top_k=top_k, query_text=question, text_weight=1.0
    )


def test_hybrid_search_lifts_the_full_text_match_and_stays_in_the_organisation(
    conn: psycopg.Connection, new_org: uuid.UUID, settings_override: dict[str, str]
) -> None:
    apply_settings({"PHI_SEARCH_TEXT_WEIGHT": "1"})  # chunks are written with their full-text vectors
    embedder = CountingEmbedder()  # vectors that say almost nothing: the text ranking decides
    texts = {
        "yard.txt": b"Trailers wait in the yard until a door is free.",
        "forklift.txt": b"Forklift batteries are charged in the ventilated room.",
        "visitors.txt": b"Visitors sign in at reception.",
    }
    for name, data in texts.items():
        document_id = add_document(conn, new_org, name, data)
        assert ingest_document(conn, document_id, data, embedder).status == "READY"
    other_org = uuid.uuid4()
    conn.execute("INSERT INTO organizations (id, name) VALUES (%s, 'Other org')", (other_org,))
    other = add_document(conn, other_org, "other-forklift.txt", b"Forklift batteries of another company.")
    assert ingest_document(conn, other, b"Forklift batteries of another company.", embedder).status == "READY"
    hits = hybrid_search(conn, new_org, embedder, "where are forklift batteries charged", top_k=3)

    assert hits[0].filename == "forklift.txt"
    assert {hit.filename for hit in hits} == set(texts)
    assert all(-1.0 <= hit.score <= 1.0 for hit in hits)


def search_text_missing(conn: psycopg.Connection, document_id: uuid.UUID) -> list[bool]:
    rows = conn.execute(
        "SELECT search_text IS NULL FROM document_chunks WHERE document_id = %s ORDER BY chunk_index", (document_id,)
    ).fetchall()
    assert rows, "the document has chunks"
    return [row[0] for row in rows]


def test_full_text_vectors_are_written_only_with_hybrid_search_on_and_the_sweeper_fills_in_the_rest(
    conn: psycopg.Connection, database_url: str, new_org: uuid.UUID, settings_override: dict[str, str]
) -> None:
    embedder = CountingEmbedder()
    before = b"Dock doors are inspected before the early shift."
    written_before = add_document(conn, new_org, "doors.txt", before)
    assert ingest_document(conn, written_before, before, embedder).status == "READY"
    assert all(search_text_missing(conn, written_before)), "hybrid search is off: to_tsvector is not paid"

    # Hybrid search on, the sweeper pointed at this database: new chunks get their vector as they are written,
    # and the sweeper computes the missing ones in bounded batches.
    close_pool()
    apply_settings({"PHI_SEARCH_TEXT_WEIGHT": "1", "PHI_DATABASE_URL": database_url})
    try:
        after = b"Pallet wrap is recycled at the south gate."
        written_after = add_document(conn, new_org, "wrap.txt", after)
        assert ingest_document(conn, written_after, after, embedder).status == "READY"
        assert not any(search_text_missing(conn, written_after))

        # Other tests' chunks may be waiting too, and each sweep fills a bounded batch. A sweep that fills nothing
        # does not mean the sweeps are done: another sweeper in this process (the embedded stack's clock) may hold
        # the rows it is filling, which this one skips. So sweep until this document's chunks are filled.
        def swept_until_filled() -> bool:
            if any(search_text_missing(conn, written_before)):
                sweep_documents()
            return not any(search_text_missing(conn, written_before))

        wait_until(swept_until_filled, timeout=120, interval=0.05)
    finally:
        close_pool()

    hits = hybrid_search(conn, new_org, embedder, "when are the dock doors inspected", top_k=1)
    assert [hit.filename for hit in hits] == ["doors.txt"]


def test_filling_missing_full_text_is_bounded_and_ends(conn: psycopg.Connection, new_org: uuid.UUID) -> None:
    embedder = CountingEmbedder()
    data = "\n\n".join(f"Section {n}: bay {n} is counted every week." for n in range(3)).encode()
    document_id = add_document(conn, new_org, "bays.md", data)
    assert ingest_document(conn, document_id, data, embedder).status == "READY"

    assert repo.fill_missing_search_text(conn, 1) == 1  # bounded: one row at a limit of one
    # It ends: a filled chunk is never missing again, so the sweeps run out (other tests' chunks included; no count
    # of rows this test did not write is asserted).
    for _ in range(10_000):
        filled = repo.fill_missing_search_text(conn, 500)
        assert 0 <= filled <= 500
        if filled == 0:
            break
    else:
        pytest.fail("filling missing full text did not end")
    assert not any(search_text_missing(conn, document_id))


def test_a_repeated_search_question_is_embedded_once_per_process_and_finds_the_same(
    conn: psycopg.Connection, new_org: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = CountingEmbedder()
    data = b"Dock doors are inspected before the early shift.\n\nPallet wrap is recycled at the south gate."
    document_id = add_document(conn, new_org, "gates.md", data)
    assert ingest_document(conn, document_id, data, embedder).status == "READY"
    monkeypatch.setattr(search_module, "get_embedding_provider", lambda: embedder)
    question = f"when are dock doors inspected ({uuid.uuid4()})"  # a question no other test asked
    asked_before = embedder.texts

    first = search_module.search_documents(conn, new_org, question, top_k=2)
    second = search_module.search_documents(conn, new_org, question, top_k=2)
    assert embedder.texts == asked_before + 1
    assert first == second and {hit.document_id for hit in first} == {document_id}


def test_a_document_whose_run_ran_out_of_time_is_left_for_a_retry_not_failed(
    conn: psycopg.Connection, new_org: uuid.UUID
) -> None:
    data = "\n\n".join(f"Rule {n}: pallets are wrapped twice." for n in range(3_000)).encode()
    document_id = add_document(conn, new_org, "rules.txt", data)
    embedder = CountingEmbedder()

    with pytest.raises(OutOfTime):
        ingest_document(conn, document_id, data, embedder, ExtractionLimits(must_finish_by=time.monotonic() - 1))

    status, error = status_and_error(conn, document_id)
    assert status == "PROCESSING"
    assert error is not None and error.startswith("the last attempt failed: OutOfTime: no time left to read")
    assert embedder.texts == 0
