"""How a chunk search runs at scale: exact for a small scope, the organisation's own HNSW index for a large one.

pgvector < 0.8 (pgserver ships 0.6) filters *after* the HNSW graph walk, so a filter that keeps a small
share of the shared index (one organisation among a thousand) leaves a walk of `ef_search` candidates
with few or none of its rows: recall collapses and the exact fallback runs after a wasted walk. pgvector
0.8's iterative scans (RDS PostgreSQL 17.1+/16.5+) help a filter that keeps a few per cent of the rows,
not one that keeps 0.05 %. So, by the number of chunks the search can see (documents.chunk_count, read
in one small query):

- up to `EXACT_MAX_CHUNKS`: exact search (the B-tree on org_id, then distances on that org's rows only);
  recall 1 and a cost bounded by the threshold;
- more, and the organisation has its own partial HNSW index (`ensure_org_vector_index`, created once
  its chunks pass `EXACT_MAX_CHUNKS`): that index, whose graph holds only its rows;
- otherwise the shared per-model index, as before (callers keep their exact fallback).

The organisation id appears as a literal in the index predicate and in the query, so the planner can prove
the partial index applies even for a prepared statement.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal
from uuid import UUID

from psycopg import Connection, pq, sql
from psycopg.rows import tuple_row
from pydantic import BaseModel, ConfigDict

EXACT_MAX_CHUNKS = 2_000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64

Strategy = Literal["exact", "org_index", "shared_index"]
AgentFilter = Literal["org", "agent", "agent_or_org_wide"]


class SearchPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    strategy: Strategy
    chunks: int  # chunks in the search's scope (organisation, and agent when filtered)
    index: str | None = None  # the organisation's own index, when it has one


def org_index_name(org_id: UUID, model_id: str, dimension: int) -> str:
    digest = hashlib.sha256(f"{model_id}:{dimension}".encode()).hexdigest()[:8]
    return f"document_chunks_org_{org_id.hex}_{digest}"  # 61 characters: PostgreSQL cuts names at 63


def _one(conn: Connection[Any], query: Any, params: Any) -> tuple[Any, ...] | None:
    with conn.cursor(row_factory=tuple_row) as cursor:
        return cursor.execute(query, params).fetchone()


def _scope(agent_filter: AgentFilter) -> sql.SQL:
    return {
        "org": sql.SQL(""),
        "agent": sql.SQL(" AND agent_id = %(agent_id)s"),
        "agent_or_org_wide": sql.SQL(" AND (agent_id = %(agent_id)s OR agent_id IS NULL)"),
    }[agent_filter]


def plan_search(
    conn: Connection[Any],
    org_id: UUID,
    model_id: str,
    dimension: int,
    agent_filter: AgentFilter,
    agent_id: UUID | None = None,
    *,
    exact_max_chunks: int = EXACT_MAX_CHUNKS,
) -> SearchPlan:
    """One query: the chunks in scope (from documents.chunk_count) and whether the org has its own index."""
    index = org_index_name(org_id, model_id, dimension)
    row = _one(
        conn,
        sql.SQL(
            "SELECT coalesce(sum(chunk_count), 0)::bigint,"
            " EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%(index)s) AND indisvalid) FROM documents"
            " WHERE org_id = %(org_id)s AND embedding_model = %(model)s{scope}"
        ).format(scope=_scope(agent_filter)),
        {"index": index, "org_id": org_id, "model": model_id, "agent_id": agent_id},
    )
    chunks, has_index = (int(row[0]), bool(row[1])) if row else (0, False)
    if chunks <= exact_max_chunks:
        return SearchPlan(strategy="exact", chunks=chunks)
    if has_index:
        return SearchPlan(strategy="org_index", chunks=chunks, index=index)
    return SearchPlan(strategy="shared_index", chunks=chunks)


def planned_search_sql(
    plan: SearchPlan, dimension: int, model_id: str, agent_filter: AgentFilter, org_id: UUID, limit: str = "top_k"
) -> sql.Composed | None:
    """The nearest-neighbour query for an exact or org-index plan (None: use the shared-index query).

    Exact: the distance on the bare column matches no HNSW index expression, so the planner reads the
    organisation's rows through the B-tree and sorts them. Org index: the distance on `embedding::vector(dim)`
    and the literal organisation id match the organisation's partial index.
    Parameters: query (vector text), org_id, agent_id, and the row count named by `limit` (top_k).
    """
    if plan.strategy == "shared_index":
        return None
    distance: sql.Composable
    org: sql.Composable
    if plan.strategy == "exact":
        distance = sql.SQL("embedding <=> %(query)s::vector")
        org = sql.SQL("%(org_id)s")
    else:
        distance = sql.SQL("(embedding::vector({dim})) <=> %(query)s::vector({dim})").format(dim=sql.Literal(dimension))
        org = sql.Literal(org_id)
    return sql.SQL(
        "SELECT c.document_id, d.filename, c.chunk_index, c.text, c.page, c.heading, 1 - c.distance AS score"
        " FROM (SELECT document_id, chunk_index, text, page, heading, {distance} AS distance"
        " FROM document_chunks WHERE embedding_model = {model} AND org_id = {org}{scope}"
        " ORDER BY {distance} LIMIT {limit}) AS c"
        " JOIN documents AS d ON d.id = c.document_id ORDER BY c.distance, c.document_id, c.chunk_index"
    ).format(
        distance=distance,
        model=sql.Literal(model_id),
        org=org,
        scope=_scope(agent_filter),
        limit=sql.Placeholder(limit),
    )


def org_chunk_count(conn: Connection[Any], org_id: UUID, model_id: str) -> int:
    row = _one(
        conn,
        "SELECT coalesce(sum(chunk_count), 0)::bigint FROM documents WHERE org_id = %s AND embedding_model = %s",
        (org_id, model_id),
    )
    return int(row[0]) if row else 0


def ensure_org_vector_index(
    conn: Connection[Any],
    org_id: UUID,
    model_id: str,
    dimension: int,
    *,
    exact_max_chunks: int = EXACT_MAX_CHUNKS,
) -> str | None:
    """Give a large organisation its own partial HNSW index once its chunks pass `exact_max_chunks`; returns
    its name, or None while the organisation is small enough for exact search. Idempotent and cheap when
    there is nothing to do (one small query), so an ingest can call it after every document.

    On an autocommit connection the index is built CONCURRENTLY (other organisations' chunk writes go on
    meanwhile); a build that failed half-way leaves an invalid index, which is dropped and built again.
    The first build reads every row of the organisation: seconds for tens of thousands of chunks."""
    if org_chunk_count(conn, org_id, model_id) <= exact_max_chunks:
        return None
    name = org_index_name(org_id, model_id, dimension)
    row = _one(conn, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,))
    if row is not None and row[0]:
        return name
    concurrently = sql.SQL("CONCURRENTLY " if conn.autocommit else "")
    if row is not None:
        conn.execute(sql.SQL("DROP INDEX {}IF EXISTS {}").format(concurrently, sql.Identifier(name)))
    conn.execute(
        sql.SQL(
            "CREATE INDEX {concurrently}IF NOT EXISTS {name} ON document_chunks USING hnsw"
            " ((embedding::vector({dim})) vector_cosine_ops) WITH (m = {m}, ef_construction = {ef})"
            " WHERE embedding_model = {model} AND org_id = {org}"
        ).format(
            concurrently=concurrently,
            name=sql.Identifier(name),
            dim=sql.Literal(dimension),
            m=sql.Literal(HNSW_M),
            ef=sql.Literal(HNSW_EF_CONSTRUCTION),
            model=sql.Literal(model_id),
            org=sql.Literal(org_id),
        )
    )
    return name


def ensure_org_vector_index_for_document(conn: Connection[Any], document_id: UUID, dimension: int) -> str | None:
    """After an ingest: `ensure_org_vector_index` for the document's organisation and model. Leaves the
    connection's transaction state as it found it (the build runs outside a transaction block)."""
    row = _one(conn, "SELECT org_id, embedding_model FROM documents WHERE id = %s", (document_id,))
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        conn.commit()
    if row is None or row[1] is None:
        return None
    org_id, model_id = row
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        return ensure_org_vector_index(conn, org_id, model_id, dimension)
    finally:
        conn.autocommit = autocommit
