"""Data access for documents, chunks and vector search (psycopg 3, PostgreSQL + pgvector).

`document_chunks.embedding` is a dimensionless `vector` so that models of different dimensions can
coexist; each model gets its own partial HNSW index on `embedding::vector(<dim>)`, and searches use
exactly that expression and predicate so the planner can pick the index.
Nothing here commits: callers own the transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg import Connection, sql
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict

from phi.db import search_plan
from phi.documents.models import Chunk, SearchHit

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
DEFAULT_EF_SEARCH = 100
HNSW_MAX_DIMENSION = 2000
_COPY_COLUMNS = (
    "document_id",
    "org_id",
    "agent_id",
    "chunk_index",
    "text",
    "page",
    "heading",
    "content_hash",
    "embedding",
    "embedding_model",
)


class DocumentRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    org_id: UUID
    agent_id: UUID | None
    filename: str
    sha256: str
    status: str


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text input format: [0.1,0.2,...]."""
    return "[" + ",".join(map(str, vector)) + "]"


def get_document(conn: Connection[Any], document_id: UUID) -> DocumentRow | None:
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT id, org_id, agent_id, filename, sha256, status FROM documents WHERE id = %s",
            (document_id,),
        )
        row = cursor.fetchone()
    return DocumentRow.model_validate(row) if row else None


def find_ready_duplicate(
    conn: Connection[Any], org_id: UUID, agent_id: UUID | None, sha256: str, exclude_id: UUID
) -> UUID | None:
    """Another READY document with the same content for the same owner (same org and agent)."""
    # Serialises concurrent ingests of identical content, so both cannot pass this check at once.
    lock_key = f"{org_id}:{agent_id}:{sha256}"
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock_key,))
    row = conn.execute(
        "SELECT id FROM documents WHERE org_id = %s AND agent_id IS NOT DISTINCT FROM %s AND sha256 = %s"
        " AND status = 'READY' AND id <> %s ORDER BY created_at LIMIT 1",
        (org_id, agent_id, sha256, exclude_id),
    ).fetchone()
    return row[0] if row else None


def write_chunks(
    conn: Connection[Any],
    document_id: UUID,
    org_id: UUID,
    agent_id: UUID | None,
    chunks: Sequence[Chunk],
    embeddings: Sequence[Sequence[float]],
    model_id: str,
) -> int:
    """Replace the document's chunks with `chunks` using COPY; idempotent for a re-ingest."""
    if len(chunks) != len(embeddings):
        raise ValueError(f"{len(chunks)} chunks but {len(embeddings)} embeddings")
    if len({len(vector) for vector in embeddings}) > 1:
        raise ValueError("embeddings of different dimensions in one document")
    conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (document_id,))
    copy_statement = sql.SQL("COPY document_chunks ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, _COPY_COLUMNS))
    )
    with conn.cursor() as cursor, cursor.copy(copy_statement) as copy:
        for item, vector in zip(chunks, embeddings, strict=True):
            copy.write_row(
                (
                    document_id,
                    org_id,
                    agent_id,
                    item.index,
                    item.text,
                    item.page,
                    item.heading,
                    item.content_hash,
                    vector_literal(vector),
                    model_id,
                )
            )
    return len(chunks)


def mark_ready(conn: Connection[Any], document_id: UUID, *, pages: int | None, chunk_count: int, model_id: str) -> None:
    conn.execute(
        "UPDATE documents SET status = 'READY', error = NULL, pages = %s, chunk_count = %s,"
        " embedding_model = %s, updated_at = now() WHERE id = %s",
        (pages, chunk_count, model_id, document_id),
    )


def mark_failed(conn: Connection[Any], document_id: UUID, reason: str) -> None:
    """Also for a dead-letter handler: a document whose ingest kept failing must not stay PROCESSING."""
    conn.execute(
        "UPDATE documents SET status = 'FAILED', error = %s, chunk_count = 0, updated_at = now() WHERE id = %s",
        (reason[:2000], document_id),
    )


def vector_index_name(model_id: str, dimension: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", model_id.lower()).strip("_")[:24]
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:8]
    return f"document_chunks_hnsw_{slug}_{dimension}_{digest}"


def ensure_vector_index(conn: Connection[Any], model_id: str, dimension: int) -> str:
    """Create the model's partial HNSW index if missing; returns its name."""
    if not 1 <= dimension <= HNSW_MAX_DIMENSION:
        raise ValueError(
            f"an HNSW index supports at most {HNSW_MAX_DIMENSION} dimensions, the model has {dimension}:"
            " configure shorter vectors (PHI_EMBEDDING_DIMENSIONS)"
        )
    name = vector_index_name(model_id, dimension)
    conn.execute(
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {name} ON document_chunks USING hnsw ((embedding::vector({dim}))"
            " vector_cosine_ops) WITH (m = {m}, ef_construction = {ef}) WHERE embedding_model = {model}"
        ).format(
            name=sql.Identifier(name),
            dim=sql.Literal(dimension),
            m=sql.Literal(HNSW_M),
            ef=sql.Literal(HNSW_EF_CONSTRUCTION),
            model=sql.Literal(model_id),
        )
    )
    return name


def search_sql(dimension: int, model_id: str, agent_filter: str) -> sql.Composed:
    """The nearest-neighbour query; model and dimension are literals so the partial index matches
    even when psycopg switches to a prepared (generic) plan."""
    _check_dimension(dimension)
    distance = sql.SQL("(embedding::vector({dim})) <=> %(query)s::vector({dim})").format(dim=sql.Literal(dimension))
    filters = {
        "org": sql.SQL(""),
        "agent": sql.SQL(" AND agent_id = %(agent_id)s"),
        "agent_or_org_wide": sql.SQL(" AND (agent_id = %(agent_id)s OR agent_id IS NULL)"),
    }
    return sql.SQL(
        "SELECT c.document_id, d.filename, c.chunk_index, c.text, c.page, c.heading, 1 - c.distance AS score"
        " FROM (SELECT document_id, chunk_index, text, page, heading, {distance} AS distance"
        " FROM document_chunks WHERE embedding_model = {model} AND org_id = %(org_id)s{agent}"
        " ORDER BY {distance} LIMIT %(top_k)s) AS c"
        " JOIN documents AS d ON d.id = c.document_id ORDER BY c.distance, c.document_id, c.chunk_index"
    ).format(distance=distance, model=sql.Literal(model_id), agent=filters[agent_filter])


def search(
    conn: Connection[Any],
    org_id: UUID,
    query_embedding: Sequence[float],
    model_id: str,
    dimension: int,
    top_k: int = 10,
    agent_id: UUID | None = None,
    include_org_wide: bool = True,
    ef_search: int = DEFAULT_EF_SEARCH,
) -> list[SearchHit]:
    """Closest chunks of one organisation (and agent, plus org-wide documents if asked).

    The strategy follows the scope's size (phi.db.search_plan): exact search for up to
    EXACT_MAX_CHUNKS chunks, the organisation's own HNSW index above that when it has one, the
    model's shared index otherwise. HNSW filters after the graph walk (pgvector < 0.8), so an index
    search that comes back with fewer than `top_k` hits runs again exactly.
    """
    if len(query_embedding) != dimension:
        raise ValueError(f"query embedding has {len(query_embedding)} dimensions, expected {dimension}")
    if not 1 <= top_k <= 1000:
        raise ValueError("top_k must be between 1 and 1000")
    agent_filter: search_plan.AgentFilter = (
        "org" if agent_id is None else ("agent_or_org_wide" if include_org_wide else "agent")
    )
    plan = search_plan.plan_search(conn, org_id, model_id, dimension, agent_filter, agent_id)
    query = search_plan.planned_search_sql(plan, dimension, model_id, agent_filter, org_id) or search_sql(
        dimension, model_id, agent_filter
    )
    params = {
        "query": vector_literal(query_embedding),
        "org_id": org_id,
        "agent_id": agent_id,
        "top_k": top_k,
    }
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(ef_search, top_k)),))
        rows = cursor.execute(query, params).fetchall()
        if len(rows) < top_k and plan.strategy != "exact":
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
            rows = cursor.execute(query, params).fetchall()
            # SET LOCAL outlives a savepoint: restore it for the rest of a caller's transaction.
            cursor.execute("SELECT set_config('enable_indexscan', 'on', true)")
    return [SearchHit.model_validate(row) for row in rows]


def _check_dimension(dimension: int) -> None:
    if not 1 <= dimension <= 16000:  # pgvector's limit for `vector`
        raise ValueError(f"vector dimension {dimension} outside 1..16000")
