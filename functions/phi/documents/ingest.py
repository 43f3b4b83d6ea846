"""One document from bytes to searchable chunks: extract → chunk → embed (each chunk, and each of its sentence
pieces) → COPY → READY or FAILED.

Failure policy, so that an SQS batch neither loses documents nor retries bad input forever:
- the input is unusable (`DocumentRejected`, which includes every ingest limit) or the provider refuses it
  (`EmbeddingError`): the document becomes FAILED with a readable reason and the outcome is returned;
- a transient problem (`EmbeddingUnavailable`, lost database connection, `OutOfTime`: the run's time ran out
  before the document was read): the reason is noted on the document,
  which stays PROCESSING, and the error is re-raised so the message is retried; when retries run out the
  sweeper (phi.documents.sweeper) fails it with that reason;
- anything else: FAILED with a sentence naming the error, logged with its traceback, and returned.
Every limit is checked before the first chunk is embedded.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Literal
from uuid import UUID

import psycopg
from pydantic import BaseModel, ConfigDict

from phi.db import documents as repo
from phi.documents.chunking import chunk, chunk_pieces
from phi.documents.extract import ExtractionLimits, extract
from phi.documents.models import Chunk, DocumentRejected, OutOfTime
from phi.embeddings.base import EmbeddingError, EmbeddingProvider, EmbeddingUnavailable
from phi.settings import get_settings

logger = logging.getLogger(__name__)

EMBED_BATCH_SIZE = 256
# Far above a chunk and its (capped) heading, far below what any provider accepts (OpenAI: 8,191 tokens): a bound
# on what one input can cost whatever the chunker produced.
MAX_EMBEDDING_INPUT_CHARS = 8_000
AnyConnection = psycopg.Connection[Any]


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
    conn: AnyConnection,
    document_id: UUID,
    data: bytes,
    embedder: EmbeddingProvider,
    limits: ExtractionLimits | None = None,
) -> IngestOutcome:
    # Every statement runs in a transaction block: commits on a non-autocommit connection too.
    with conn.transaction():
        document = repo.get(conn, document_id)
    if document is None:  # deleted after upload: nothing to do, and nothing to retry
        return IngestOutcome(document_id=document_id, status="SKIPPED", reason="document no longer exists")
    try:
        return _ingest(conn, document, data, embedder, limits or ExtractionLimits.from_settings())
    except DocumentRejected as rejected:
        return _fail(conn, document_id, rejected.reason)
    except EmbeddingError as error:
        return _fail(conn, document_id, f"embedding failed: {error}")
    except (EmbeddingUnavailable, psycopg.OperationalError, OutOfTime) as error:
        _note_transient(conn, document_id, error)
        raise
    except Exception as error:
        logger.exception("ingest of document %s failed unexpectedly", document_id)
        return _fail(conn, document_id, unexpected_reason(error))


def unexpected_reason(error: BaseException) -> str:
    """A sentence a person can act on, naming the error without a traceback."""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    named = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    return f"internal error while processing the document ({named}); upload it again, or report it if it recurs"


class ChunkVectors(BaseModel):
    """A document's vectors: one row per chunk, and one per sentence piece with its (chunk index, piece index)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    chunks: Any  # numpy float32 (chunks x dimension)
    piece_keys: list[tuple[int, int]]
    pieces: Any  # numpy float32 (pieces x dimension)


def embed_chunks(embedder: EmbeddingProvider, chunks: list[Chunk]) -> ChunkVectors:
    """The chunks' vectors (`embedding_input`) and their sentence pieces' (`chunk_pieces`, at most
    `MAX_PIECES_PER_CHUNK` per chunk, so the chunk limit bounds them too)."""
    keys: list[tuple[int, int]] = []
    texts: list[str] = []
    for item in chunks:
        for piece_index, piece in enumerate(chunk_pieces(item)):
            keys.append((item.index, piece_index))
            texts.append(piece)
    return ChunkVectors(
        chunks=_embed_in_batches(embedder, [embedding_input(item) for item in chunks]),
        piece_keys=keys,
        pieces=_embed_in_batches(embedder, texts),
    )


def embedding_input(item: Chunk) -> str:
    """Later chunks of a section no longer contain its heading; give the model that context."""
    text = item.text
    if item.heading and not item.text.startswith(item.heading):
        text = f"{item.heading}\n{item.text}"
    return text[:MAX_EMBEDDING_INPUT_CHARS]


def _ingest(
    conn: AnyConnection,
    document: repo.Document,
    data: bytes,
    embedder: EmbeddingProvider,
    limits: ExtractionLimits,
) -> IngestOutcome:
    failed = repo.find_failed_duplicate(
        conn, document.org_id, document.agent_id, hashlib.sha256(data).hexdigest(), exclude_id=document.id
    )
    if failed is not None:  # the same answer as the API gives a direct upload of that content (409)
        raise DocumentRejected(
            f"duplicate of '{failed.filename}' (document {failed.id}), which has the same content and failed:"
            f" {failed.error or 'no reason recorded'}; delete that document to upload this content again"
        )
    extracted = extract(data, document.filename, limits)
    chunks = chunk(extracted, max_chunks=limits.max_chunks)
    if not chunks:
        raise DocumentRejected("no extractable text")
    if len(chunks) > limits.max_chunks:
        raise DocumentRejected(
            f"too many passages: the text makes more than {limits.max_chunks:,} chunks, the limit"
            " per document; split it into smaller documents"
        )
    vectors = embed_chunks(embedder, chunks)
    content_sha256 = hashlib.sha256(data).hexdigest()
    _ensure_index_once(conn, embedder.model_id, embedder.dimension)
    with conn.transaction():
        duplicate = repo.find_ready_duplicate(
            conn, document.org_id, document.agent_id, content_sha256, exclude_id=document.id
        )
        if duplicate is not None:
            reason = f"duplicate: the same content is already in READY document {duplicate}"
            repo.mark_failed(conn, document.id, reason)
            return IngestOutcome(document_id=document.id, status="FAILED", reason=reason, duplicate_of=duplicate)
        count = repo.write_chunks(
            conn,
            document.id,
            document.org_id,
            document.agent_id,
            chunks,
            vectors.chunks,
            embedder.model_id,
            full_text=get_settings().hybrid_search,
        )
        repo.write_chunk_pieces(conn, document.id, vectors.piece_keys, vectors.pieces)
        repo.mark_ready(conn, document.id, pages=extracted.page_count, chunk_count=count, model_id=embedder.model_id)
    return IngestOutcome(
        document_id=document.id,
        status="READY",
        pages=extracted.page_count,
        chunk_count=count,
        embedding_model=embedder.model_id,
    )


def _embed_in_batches(embedder: EmbeddingProvider, texts: list[str]) -> Any:
    import numpy as np

    matrix = np.empty((len(texts), embedder.dimension), dtype=np.float32)
    for start in range(0, len(texts), EMBED_BATCH_SIZE):
        batch = texts[start : start + EMBED_BATCH_SIZE]
        batch_vectors = embedder.embed(batch)
        if len(batch_vectors) != len(batch) or any(len(v) != embedder.dimension for v in batch_vectors):
            raise EmbeddingError(
                f"model {embedder.model_id} returned vectors that do not match its dimension {embedder.dimension}"
            )
        matrix[start : start + len(batch)] = batch_vectors
    return matrix


_indexed: set[tuple[str, str, int]] = set()


def _ensure_index_once(conn: AnyConnection, model_id: str, dimension: int) -> None:
    # CREATE INDEX takes a lock that blocks concurrent chunk writes: run it once per process and
    # database, in its own short transaction rather than inside every ingest.
    key = (_database_key(conn), model_id, dimension)
    if key in _indexed:
        return
    with conn.transaction():
        repo.ensure_vector_index(conn, model_id, dimension)
    _indexed.add(key)


def _database_key(conn: AnyConnection) -> str:
    info = conn.info
    return f"{info.host}:{info.port}/{info.dbname}"


def _note_transient(conn: AnyConnection, document_id: UUID, error: BaseException) -> None:
    reason = f"the last attempt failed: {type(error).__name__}: {str(error).strip()[:300]}"
    try:
        _recover(conn)
        with conn.transaction():
            repo.note_attempt_failed(conn, document_id, reason)
    except psycopg.Error:  # the connection itself is gone: the retry (or the sweeper) will tell
        logger.warning("could not note the failed attempt on document %s", document_id)


def _recover(conn: AnyConnection) -> None:
    """After an error outside a transaction block, a non-autocommit connection must roll back first."""
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
        conn.rollback()


def _fail(conn: AnyConnection, document_id: UUID, reason: str) -> IngestOutcome:
    _recover(conn)
    with conn.transaction():
        repo.mark_failed(conn, document_id, reason)
    return IngestOutcome(document_id=document_id, status="FAILED", reason=reason)
