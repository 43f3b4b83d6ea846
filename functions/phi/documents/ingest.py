"""One document from bytes to searchable chunks: extract → chunk → embed → COPY → READY or FAILED.

Failure policy, so that an SQS batch neither loses documents nor retries bad input forever:
- the input is unusable (`DocumentRejected`) or the provider refuses it (`EmbeddingError`):
  the document becomes FAILED with a readable reason and the outcome is returned;
- a transient problem (`EmbeddingUnavailable`, lost database connection): re-raised with the
  document left PROCESSING, so the message is retried; a dead-letter handler calls `mark_failed`;
- anything else: FAILED with "internal error: <type>", logged with its traceback, and returned.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg import Connection
from pydantic import BaseModel, ConfigDict

from phi.documents import store
from phi.documents.chunking import chunk
from phi.documents.extract import ExtractionLimits, extract
from phi.documents.models import Chunk, DocumentRejected
from phi.embeddings.base import EmbeddingError, EmbeddingProvider, EmbeddingUnavailable

logger = logging.getLogger(__name__)

EMBED_BATCH_SIZE = 256


class IngestOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    document_id: UUID
    status: Literal["READY", "FAILED", "SKIPPED"]
    reason: str | None = None
    pages: int | None = None
    chunk_count: int = 0
    embedding_model: str | None = None
    duplicate_of: UUID | None = None


def ingest_document(
    conn: Connection[Any],
    document_id: UUID,
    data: bytes,
    embedder: EmbeddingProvider,
    limits: ExtractionLimits | None = None,
) -> IngestOutcome:
    # Every statement runs in a transaction block: commits on a non-autocommit connection too.
    with conn.transaction():
        document = store.get_document(conn, document_id)
    if document is None:  # deleted after upload: nothing to do, and nothing to retry
        return IngestOutcome(document_id=document_id, status="SKIPPED", reason="document no longer exists")
    try:
        return _ingest(conn, document, data, embedder, limits or ExtractionLimits())
    except DocumentRejected as rejected:
        return _fail(conn, document_id, rejected.reason)
    except EmbeddingError as error:
        return _fail(conn, document_id, f"embedding failed: {error}")
    except (EmbeddingUnavailable, psycopg.OperationalError):
        raise
    except Exception as error:
        logger.exception("ingest of document %s failed unexpectedly", document_id)
        return _fail(conn, document_id, f"internal error: {type(error).__name__}")


def embedding_input(item: Chunk) -> str:
    """Later chunks of a section no longer contain its heading; give the model that context."""
    if item.heading and not item.text.startswith(item.heading):
        return f"{item.heading}\n{item.text}"
    return item.text


def _ingest(
    conn: Connection[Any],
    document: store.DocumentRow,
    data: bytes,
    embedder: EmbeddingProvider,
    limits: ExtractionLimits,
) -> IngestOutcome:
    extracted = extract(data, document.filename, limits)
    chunks = chunk(extracted)
    if not chunks:
        raise DocumentRejected("no extractable text")
    embeddings = _embed_in_batches(embedder, [embedding_input(item) for item in chunks])
    content_sha256 = hashlib.sha256(data).hexdigest()
    _ensure_index_once(conn, embedder.model_id, embedder.dimension)
    with conn.transaction():
        duplicate = store.find_ready_duplicate(
            conn, document.org_id, document.agent_id, content_sha256, exclude_id=document.id
        )
        if duplicate is not None:
            reason = f"duplicate: the same content is already in READY document {duplicate}"
            store.mark_failed(conn, document.id, reason)
            return IngestOutcome(document_id=document.id, status="FAILED", reason=reason, duplicate_of=duplicate)
        count = store.write_chunks(
            conn, document.id, document.org_id, document.agent_id, chunks, embeddings, embedder.model_id
        )
        store.mark_ready(conn, document.id, pages=extracted.page_count, chunk_count=count, model_id=embedder.model_id)
    return IngestOutcome(
        document_id=document.id,
        status="READY",
        pages=extracted.page_count,
        chunk_count=count,
        embedding_model=embedder.model_id,
    )


def _embed_in_batches(embedder: EmbeddingProvider, texts: list[str]) -> list[list[float]]:
    vectors: list[list[float]] = []
    for start in range(0, len(texts), EMBED_BATCH_SIZE):
        batch = texts[start : start + EMBED_BATCH_SIZE]
        batch_vectors = embedder.embed(batch)
        if len(batch_vectors) != len(batch) or any(len(v) != embedder.dimension for v in batch_vectors):
            raise EmbeddingError(
                f"model {embedder.model_id} returned vectors that do not match its dimension {embedder.dimension}"
            )
        vectors.extend(batch_vectors)
    return vectors


_indexed: set[tuple[str, str, int]] = set()


def _ensure_index_once(conn: Connection[Any], model_id: str, dimension: int) -> None:
    # CREATE INDEX takes a lock that blocks concurrent chunk writes: run it once per process and
    # database, in its own short transaction rather than inside every ingest.
    key = (_database_key(conn), model_id, dimension)
    if key in _indexed:
        return
    with conn.transaction():
        store.ensure_vector_index(conn, model_id, dimension)
    _indexed.add(key)


def _database_key(conn: Connection[Any]) -> str:
    info = conn.info
    return f"{info.host}:{info.port}/{info.dbname}"


def _fail(conn: Connection[Any], document_id: UUID, reason: str) -> IngestOutcome:
    with conn.transaction():
        store.mark_failed(conn, document_id, reason)
    return IngestOutcome(document_id=document_id, status="FAILED", reason=reason)
