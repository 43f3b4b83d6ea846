"""The one repository for documents and their chunks: records, chunk writes (binary COPY), vector and hybrid search.

`document_chunks.embedding` is a dimensionless `vector` so that models of different dimensions can coexist;
each model gets its own partial HNSW index on `embedding::vector(<dim>)`, and searches use exactly that
expression and predicate so the planner can pick the index. `document_chunks.search_text` is a `tsvector`
(heading + text, English configuration) with a GIN index, for the full-text half of hybrid search: written with
the chunks only when asked (hybrid search on), otherwise NULL until `fill_missing_search_text` computes it.
`document_chunk_pieces` holds one vector per sentence piece of a chunk (`write_chunk_pieces`): vector search
re-ranks its nearest chunks by the mean of their own similarity and their best piece's (`rescored_sql`).

Every function reads rows through its own dict-row cursor, so it works on any psycopg connection (the pools'
dict-row connections and plain ones alike). Nothing here commits unless it says so: callers own the transaction.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from pydantic import BaseModel

from phi.db import search_plan
from phi.documents.models import Chunk, SearchHit

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
DEFAULT_EF_SEARCH = 100
HNSW_MAX_DIMENSION = 2000
# Reciprocal rank fusion: score = sum over rankings of 1 / (RRF_K + rank). 60 is the constant of the original
# paper (Cormack et al., 2009); it damps the head of each ranking so that neither alone decides.
RRF_K = 60
HYBRID_CANDIDATES = 40
# Nearest chunks re-ranked with their sentence pieces. Rescoring every chunk instead changes no answer of
# bench_retrieval.py (the right chunk is within the nearest 25 for each question there); 40 leaves a margin.
PIECE_CANDIDATES = 40
# The full-text ranking's weight in the fusion, against 1 for the vector ranking (measured in bench_retrieval.py).
TEXT_WEIGHT = 1.0

AnyConnection = psycopg.Connection[Any]
DocumentStatus = Literal["PROCESSING", "READY", "FAILED", "EXPIRED"]

_COLUMNS = """id, org_id, agent_id, filename, source_type, content_type, s3_key, bytes, sha256, status, error,
              pages, chunk_count, embedding_model, created_at, updated_at"""


class Document(BaseModel):
    id: UUID
    org_id: UUID
    agent_id: UUID | None
    filename: str
    source_type: str
    content_type: str | None
    s3_key: str
    bytes: int | None
    sha256: str | None
    status: str
    error: str | None
    pages: int | None
    chunk_count: int | None
    embedding_model: str | None
    created_at: datetime
    updated_at: datetime


def _one(conn: AnyConnection, query: Any, params: Any = None) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchone()


def _all(conn: AnyConnection, query: Any, params: Any = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


# ------------------------------------------------------------------------------------------ documents


def insert(conn: AnyConnection, **values: Any) -> Document:
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({name})s" for name in values)
    row = _one(conn, f"INSERT INTO documents ({columns}) VALUES ({placeholders}) RETURNING {_COLUMNS}", values)
    return Document.model_validate(row)


def get(conn: AnyConnection, document_id: UUID) -> Document | None:
    """Any organisation's document: for the ingest pipeline, which learns the id from the storage key."""
    row = _one(conn, f"SELECT {_COLUMNS} FROM documents WHERE id = %s", (document_id,))
    return Document.model_validate(row) if row else None


def get_in_org(conn: AnyConnection, document_id: UUID, org_id: UUID) -> Document | None:
    row = _one(conn, f"SELECT {_COLUMNS} FROM documents WHERE id = %s AND org_id = %s", (document_id, org_id))
    return Document.model_validate(row) if row else None


_AGENTS_DOCUMENTS = "FROM documents WHERE org_id = %(org_id)s AND (agent_id = %(agent_id)s OR agent_id IS NULL)"


def list_for_agent(conn: AnyConnection, org_id: UUID, agent_id: UUID) -> list[Document]:
    """The agent's own documents and the organisation-wide ones it also learns from, newest first."""
    rows = _all(
        conn,
        f"SELECT {_COLUMNS} {_AGENTS_DOCUMENTS} ORDER BY created_at DESC, id",
        {"org_id": org_id, "agent_id": agent_id},
    )
    return [Document.model_validate(r) for r in rows]


def page_for_agent(
    conn: AnyConnection, org_id: UUID, agent_id: UUID, limit: int, offset: int
) -> tuple[list[Document], int]:
    """One page of `list_for_agent`, and how many there are in all."""
    params = {"org_id": org_id, "agent_id": agent_id, "limit": limit, "offset": offset}
    rows = _all(
        conn,
        f"SELECT {_COLUMNS} {_AGENTS_DOCUMENTS} ORDER BY created_at DESC, id LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    total = _one(conn, f"SELECT count(*) AS n {_AGENTS_DOCUMENTS}", params)
    return [Document.model_validate(r) for r in rows], int(total["n"]) if total else 0


def find_same_content(conn: AnyConnection, org_id: UUID, agent_id: UUID | None, sha256: str) -> Document | None:
    """The earliest document of the same owner with this content, whatever became of it (FAILED included)."""
    row = _one(
        conn,
        f"""SELECT {_COLUMNS} FROM documents WHERE org_id = %s AND agent_id IS NOT DISTINCT FROM %s
              AND sha256 = %s AND status <> 'EXPIRED'
            ORDER BY (status = 'FAILED'), created_at LIMIT 1""",
        (org_id, agent_id, sha256),
    )
    return Document.model_validate(row) if row else None


def find_ready_duplicate(
    conn: AnyConnection, org_id: UUID, agent_id: UUID | None, sha256: str, exclude_id: UUID
) -> UUID | None:
    """Another READY document with the same content for the same owner (same org and agent)."""
    # Serialises concurrent ingests of identical content, so both cannot pass this check at once.
    lock_key = f"{org_id}:{agent_id}:{sha256}"
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock_key,))
    row = _one(
        conn,
        "SELECT id FROM documents WHERE org_id = %s AND agent_id IS NOT DISTINCT FROM %s AND sha256 = %s"
        " AND status = 'READY' AND id <> %s ORDER BY created_at LIMIT 1",
        (org_id, agent_id, sha256, exclude_id),
    )
    return row["id"] if row else None


def find_failed_duplicate(
    conn: AnyConnection, org_id: UUID, agent_id: UUID | None, sha256: str, exclude_id: UUID
) -> Document | None:
    """An earlier FAILED document with the same content for the same owner (the pre-signed upload path, which
    learns the content only when the object arrives)."""
    row = _one(
        conn,
        f"SELECT {_COLUMNS} FROM documents WHERE org_id = %s AND agent_id IS NOT DISTINCT FROM %s AND sha256 = %s"
        " AND status = 'FAILED' AND id <> %s ORDER BY created_at LIMIT 1",
        (org_id, agent_id, sha256, exclude_id),
    )
    return Document.model_validate(row) if row else None


class ProfileSource(BaseModel):
    """A document chunk offered to profile generation."""

    filename: str
    source_type: str
    heading: str | None
    text: str


def profile_sources(conn: AnyConnection, agent_id: UUID, org_id: UUID, limit: int = 10) -> list[ProfileSource]:
    """Chunks of the agent's own and the organisation-wide READY documents, job descriptions and SOPs first."""
    rows = _all(
        conn,
        """SELECT d.filename, d.source_type, c.heading, c.text FROM document_chunks c
           JOIN documents d ON d.id = c.document_id
           WHERE d.org_id = %(org_id)s AND c.org_id = %(org_id)s AND d.status = 'READY'
             AND (d.agent_id = %(agent_id)s OR d.agent_id IS NULL)
           ORDER BY (d.agent_id IS NULL),
                    array_position(ARRAY['JD', 'SOP', 'POLICY', 'MANUAL', 'OTHER'], d.source_type),
                    d.created_at, c.chunk_index
           LIMIT %(limit)s""",
        {"org_id": org_id, "agent_id": agent_id, "limit": limit},
    )
    return [ProfileSource.model_validate(r) for r in rows]


def set_key(conn: AnyConnection, document_id: UUID, s3_key: str) -> None:
    conn.execute("UPDATE documents SET s3_key = %s WHERE id = %s", (s3_key, document_id))


def record_object(conn: AnyConnection, document_id: UUID, size: int, sha256: str) -> None:
    """An ingest attempt starts: the stored object's size and digest; `updated_at` dates the attempt."""
    conn.execute(
        "UPDATE documents SET bytes = %s, sha256 = %s, updated_at = now() WHERE id = %s",
        (size, sha256, document_id),
    )


def note_attempt_failed(conn: AnyConnection, document_id: UUID, reason: str) -> None:
    """A transient failure: the document stays PROCESSING (it is retried) but keeps the reason for the sweeper."""
    conn.execute(
        "UPDATE documents SET error = %s WHERE id = %s AND status = 'PROCESSING'", (reason[:2000], document_id)
    )


def mark_ready(conn: AnyConnection, document_id: UUID, *, pages: int | None, chunk_count: int, model_id: str) -> None:
    conn.execute(
        "UPDATE documents SET status = 'READY', error = NULL, pages = %s, chunk_count = %s,"
        " embedding_model = %s, updated_at = now() WHERE id = %s",
        (pages, chunk_count, model_id, document_id),
    )


def mark_failed(conn: AnyConnection, document_id: UUID, reason: str) -> None:
    """FAILED with the reason; chunks an earlier ingest of the document wrote go (their pieces with them): a failed
    document is never searched, whatever its bytes were before."""
    conn.execute(
        "UPDATE documents SET status = 'FAILED', error = %s, chunk_count = 0, updated_at = now() WHERE id = %s",
        (reason[:2000], document_id),
    )
    conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (document_id,))


def fail_stale_processing(conn: AnyConnection, before: datetime, limit: int = 500) -> list[Document]:
    """Platform maintenance, every organisation: documents whose bytes arrived but whose ingest stopped
    progressing before `before` become FAILED, with the last attempt's error when one was recorded."""
    rows = _all(
        conn,
        f"""UPDATE documents SET status = 'FAILED', updated_at = now(),
                   error = left('ingest did not finish: ' || coalesce(error, 'it stopped without a reason'
                                || ' (the ingest worker timed out or was stopped)'), 2000)
            WHERE id IN (SELECT id FROM documents WHERE status = 'PROCESSING' AND sha256 IS NOT NULL
                         AND updated_at < %s ORDER BY updated_at LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING {_COLUMNS}""",
        (before, limit),
    )
    failed = [Document.model_validate(r) for r in rows]
    if failed:  # as mark_failed: no chunk of a failed document stays searchable
        conn.execute("DELETE FROM document_chunks WHERE document_id = ANY(%s)", ([d.id for d in failed],))
    return failed


def expire_unused_uploads(conn: AnyConnection, before: datetime, limit: int = 500) -> list[Document]:
    """Platform maintenance, every organisation: pre-signed uploads never used, created before `before`."""
    rows = _all(
        conn,
        f"""UPDATE documents SET status = 'EXPIRED', updated_at = now(),
                   error = 'the upload URL expired before a file was uploaded'
            WHERE id IN (SELECT id FROM documents WHERE status = 'PROCESSING' AND sha256 IS NULL
                         AND created_at < %s ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING {_COLUMNS}""",
        (before, limit),
    )
    return [Document.model_validate(r) for r in rows]


def delete(conn: AnyConnection, document_id: UUID, org_id: UUID) -> None:
    conn.execute("DELETE FROM documents WHERE id = %s AND org_id = %s", (document_id, org_id))


# --------------------------------------------------------------------------------------------- chunks

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
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)
_NULL = struct.pack("!i", -1)
_COPY_BLOCK_ROWS = 4096


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text input format: [0.1,0.2,...]."""
    return "[" + ",".join(map(str, vector)) + "]"


def write_chunks(
    conn: AnyConnection,
    document_id: UUID,
    org_id: UUID,
    agent_id: UUID | None,
    chunks: Sequence[Chunk],
    embeddings: Any,
    model_id: str,
    full_text: bool = False,
) -> int:
    """Replace the document's chunks with `chunks` (idempotent for a re-ingest) by one binary COPY; with
    `full_text`, their full-text vectors too (to_tsvector is most of a write's cost: only for hybrid search).

    `embeddings` is a (chunks x dimension) numpy array or anything numpy turns into one. Vectors travel in
    pgvector's binary format (int16 dimension, int16 unused, float4 big-endian each), made by numpy in one
    conversion: no per-number text formatting or parsing on either side.
    """
    matrix = _embedding_matrix(embeddings, len(chunks), "chunks", ">f4")
    dimension = matrix.shape[1]
    conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (document_id,))
    statement = sql.SQL("COPY document_chunks ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.SQL(", ").join(map(sql.Identifier, _COPY_COLUMNS))
    )
    vector_prefix = struct.pack("!ihh", 4 + 4 * dimension, dimension, 0)
    constant_head = struct.pack("!h", len(_COPY_COLUMNS)) + _field(document_id.bytes) + _field(org_id.bytes)
    constant_head += _NULL if agent_id is None else _field(agent_id.bytes)
    model_field = _field(model_id.encode())
    rows = [_COPY_HEADER]
    for item, vector_bytes in zip(chunks, map(bytes, matrix), strict=True):
        rows.append(
            b"".join(
                (
                    constant_head,
                    b"\x00\x00\x00\x04" + struct.pack("!i", item.index),
                    _field(item.text.encode()),
                    _NULL if item.page is None else b"\x00\x00\x00\x04" + struct.pack("!i", item.page),
                    _NULL if item.heading is None else _field(item.heading.encode()),
                    _field(item.content_hash.encode()),
                    vector_prefix,
                    vector_bytes,
                    model_field,
                )
            )
        )
    rows.append(_COPY_TRAILER)
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(b"".join(rows))
    if full_text:
        conn.execute(
            sql.SQL("UPDATE document_chunks SET search_text = {} WHERE document_id = %s").format(_SEARCH_TEXT),
            (document_id,),
        )
    return len(chunks)


def _embedding_matrix(embeddings: Any, rows: int, what: str, dtype: str) -> Any:
    """`embeddings` as a (rows x dimension) numpy array of `dtype`, or a ValueError saying what is wrong."""
    import numpy as np  # imported on use: the API Lambda never writes chunks

    matrix = np.asarray(embeddings, dtype=dtype)
    if matrix.ndim != 2 or matrix.shape[0] != rows:
        shape = "x".join(map(str, matrix.shape))
        raise ValueError(f"{rows} {what} but embeddings of shape {shape}")
    _check_dimension(matrix.shape[1])
    if not np.isfinite(matrix).all():
        raise ValueError(f"the {what}' embeddings contain NaN or infinite values")
    return matrix


def write_chunk_pieces(conn: AnyConnection, document_id: UUID, keys: Sequence[tuple[int, int]], embeddings: Any) -> int:
    """Add the vectors of the document's chunk pieces (`keys`: chunk index, piece index; one embeddings row each)
    by one binary COPY. Call it after `write_chunks` of the same chunks, which removed the previous pieces."""
    if len(keys) == 0:
        return 0
    matrix = _embedding_matrix(embeddings, len(keys), "pieces", "float32")  # made big-endian block by block
    dimension = matrix.shape[1]
    head = struct.pack("!h", 4) + _field(document_id.bytes)
    vector_prefix = struct.pack("!ihh", 4 + 4 * dimension, dimension, 0)
    statement = sql.SQL(
        "COPY document_chunk_pieces (document_id, chunk_index, piece_index, embedding) FROM STDIN (FORMAT BINARY)"
    )
    # Up to MAX_PIECES_PER_CHUNK rows per chunk: sent in blocks, so the COPY buffer stays small whatever their number.
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(_COPY_HEADER)
        for start in range(0, len(keys), _COPY_BLOCK_ROWS):
            end = start + _COPY_BLOCK_ROWS
            block = zip(keys[start:end], map(bytes, matrix[start:end].astype(">f4")), strict=True)
            copy.write(
                b"".join(
                    head + struct.pack("!iiii", 4, chunk_index, 4, piece_index) + vector_prefix + vector_bytes
                    for (chunk_index, piece_index), vector_bytes in block
                )
            )
        copy.write(_COPY_TRAILER)
    return len(keys)


# The full-text vector of a chunk: its heading and text, English configuration (stemming, stop words).
_SEARCH_TEXT = sql.SQL("to_tsvector('english', coalesce(heading, '') || ' ' || text)")


def fill_missing_search_text(conn: AnyConnection, limit: int) -> int:
    """Computes the full-text vector of up to `limit` chunks written without one (hybrid search was off when
    they were written); returns how many. Concurrent callers skip each other's rows."""
    cursor = conn.execute(
        sql.SQL(
            "UPDATE document_chunks SET search_text = {} WHERE id IN ("
            " SELECT id FROM document_chunks WHERE search_text IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
        ).format(_SEARCH_TEXT),
        (limit,),
    )
    return cursor.rowcount


def _field(value: bytes) -> bytes:
    return struct.pack("!i", len(value)) + value


def vector_index_name(model_id: str, dimension: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", model_id.lower()).strip("_")[:24]
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:8]
    return f"document_chunks_hnsw_{slug}_{dimension}_{digest}"


def ensure_vector_index(conn: AnyConnection, model_id: str, dimension: int) -> str:
    """Create the model's partial HNSW index if missing; returns its name."""
    if not 1 <= dimension <= HNSW_MAX_DIMENSION:
        raise ValueError(
            f"an HNSW index supports at most {HNSW_MAX_DIMENSION} dimensions, the model has {dimension}:"
            " configure shorter vectors (PHI_EMBEDDING_DIMENSIONS)"
        )
    name = vector_index_name(model_id, dimension)
    # Two first ingests of a new model at once would both try to create it (a unique violation on pg_class):
    # the second waits here, then finds it.
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"create index {name}",))
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


# --------------------------------------------------------------------------------------------- search

AgentFilter = Literal["org", "agent", "agent_or_org_wide"]
_AGENT_FILTERS: dict[str, sql.SQL] = {
    "org": sql.SQL(""),
    "agent": sql.SQL(" AND agent_id = %(agent_id)s"),
    "agent_or_org_wide": sql.SQL(" AND (agent_id = %(agent_id)s OR agent_id IS NULL)"),
}


def _distance(dimension: int) -> sql.Composed:
    return sql.SQL("(embedding::vector({dim})) <=> %(query)s::vector({dim})").format(dim=sql.Literal(dimension))


def search_sql(dimension: int, model_id: str, agent_filter: AgentFilter, limit: str = "top_k") -> sql.Composed:
    """The nearest-neighbour query, as many rows as the parameter named `limit`; model and dimension are literals
    so the partial index matches even when psycopg switches to a prepared (generic) plan."""
    _check_dimension(dimension)
    distance = _distance(dimension)
    return sql.SQL(
        "SELECT c.document_id, d.filename, c.chunk_index, c.text, c.page, c.heading, 1 - c.distance AS score"
        " FROM (SELECT document_id, chunk_index, text, page, heading, {distance} AS distance"
        " FROM document_chunks WHERE embedding_model = {model} AND org_id = %(org_id)s{agent}"
        " ORDER BY {distance} LIMIT {limit}) AS c"
        " JOIN documents AS d ON d.id = c.document_id ORDER BY c.distance, c.document_id, c.chunk_index"
    ).format(
        distance=distance, model=sql.Literal(model_id), agent=_AGENT_FILTERS[agent_filter], limit=sql.Placeholder(limit)
    )


def hybrid_search_sql(dimension: int, model_id: str, agent_filter: AgentFilter) -> sql.Composed:
    """Vector candidates (HNSW) and full-text candidates (GIN, ranked by ts_rank_cd) fused by reciprocal rank.

    The text query is the question's lexemes joined with OR: people ask in their own words, and requiring
    every word (plainto_tsquery's AND) would match almost nothing. `score` stays the cosine similarity.
    """
    _check_dimension(dimension)
    distance = _distance(dimension)
    scope = sql.SQL("embedding_model = {model} AND org_id = %(org_id)s{agent}").format(
        model=sql.Literal(model_id), agent=_AGENT_FILTERS[agent_filter]
    )
    return sql.SQL(
        "WITH vector_hits AS ("
        " SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM ("
        "  SELECT id, {distance} AS distance FROM document_chunks WHERE {scope}"
        "  ORDER BY {distance} LIMIT %(candidates)s) AS v),"
        " text_query AS (SELECT replace(plainto_tsquery('english', %(text)s)::text, '&', '|')::tsquery AS q),"
        " text_hits AS ("
        " SELECT id, row_number() OVER (ORDER BY rank_cd DESC, id) AS rank FROM ("
        "  SELECT id, ts_rank_cd(search_text, q) AS rank_cd FROM document_chunks, text_query"
        "  WHERE {scope} AND search_text @@ q ORDER BY rank_cd DESC, id LIMIT %(candidates)s) AS t),"
        " fused AS ("
        " SELECT id, sum(weight / ({k} + rank)) AS fused FROM"
        " (SELECT id, rank, 1.0 AS weight FROM vector_hits"
        "  UNION ALL SELECT id, rank, %(text_weight)s::float8 AS weight FROM text_hits) AS both_rankings"
        " GROUP BY id ORDER BY fused DESC, id LIMIT %(top_k)s)"
        " SELECT c.document_id, d.filename, c.chunk_index, c.text, c.page, c.heading,"
        " 1 - ({distance}) AS score FROM fused JOIN document_chunks AS c ON c.id = fused.id"
        " JOIN documents AS d ON d.id = c.document_id ORDER BY fused.fused DESC, c.id"
    ).format(distance=distance, scope=scope, k=sql.Literal(RRF_K))


def rescored_sql(chunk_query: sql.Composable) -> sql.Composed:
    """`chunk_query` (the nearest chunks, `%(candidates)s` of them) re-ranked with the chunks' sentence pieces:
    score = the mean of the chunk's own similarity and its best piece's (its own again when it has no pieces),
    `%(top_k)s` rows. Pieces are read through their primary key, a few per candidate."""
    return sql.SQL(
        "SELECT h.document_id, h.filename, h.chunk_index, h.text, h.page, h.heading,"
        " (h.score + coalesce(p.best, h.score)) / 2 AS score"
        " FROM ({chunks}) AS h LEFT JOIN LATERAL ("
        "  SELECT max(1 - (embedding <=> %(query)s::vector)) AS best FROM document_chunk_pieces"
        "  WHERE document_id = h.document_id AND chunk_index = h.chunk_index) AS p ON true"
        " ORDER BY score DESC, h.document_id, h.chunk_index LIMIT %(top_k)s"
    ).format(chunks=chunk_query)


def search(
    conn: AnyConnection,
    org_id: UUID,
    query_embedding: Sequence[float],
    model_id: str,
    dimension: int,
    top_k: int = 10,
    agent_id: UUID | None = None,
    include_org_wide: bool = True,
    ef_search: int = DEFAULT_EF_SEARCH,
    query_text: str | None = None,
    text_weight: float = TEXT_WEIGHT,
    pieces: bool = True,
) -> list[SearchHit]:
    """Closest chunks of one organisation (and agent, plus org-wide documents if asked).

    With `pieces` (vector search), the `PIECE_CANDIDATES` nearest chunks are re-ranked by the mean of their own
    similarity and their best sentence piece's (`rescored_sql`); `score` is that mean.
    With `query_text`, hybrid: the vector ranking fused with the full-text ranking of that text (no pieces).
    HNSW filters after the graph walk (pgvector < 0.8), so a small organisation among large ones
    can come back with fewer than `top_k` hits; then the same query runs exactly, which for such
    an organisation is cheap.
    """
    if len(query_embedding) != dimension:
        raise ValueError(f"query embedding has {len(query_embedding)} dimensions, expected {dimension}")
    if not 1 <= top_k <= 1000:
        raise ValueError("top_k must be between 1 and 1000")
    agent_filter: AgentFilter = "org" if agent_id is None else ("agent_or_org_wide" if include_org_wide else "agent")
    params: dict[str, Any] = {
        "query": vector_literal(query_embedding),
        "org_id": org_id,
        "agent_id": agent_id,
        "top_k": top_k,
    }
    if query_text:
        query = hybrid_search_sql(dimension, model_id, agent_filter)
        params |= {"text": query_text, "candidates": max(HYBRID_CANDIDATES, top_k), "text_weight": text_weight}
        exact = False
    else:
        # The strategy follows the scope's size (phi.db.search_plan): exact for a small scope, the
        # organisation's own HNSW index for a large one that has it, the model's shared index otherwise.
        # With pieces, the chunk query returns the candidates (its row count is the `candidates` parameter).
        plan = search_plan.plan_search(conn, org_id, model_id, dimension, agent_filter, agent_id)
        limit = "candidates" if pieces else "top_k"
        planned = search_plan.planned_search_sql(plan, dimension, model_id, agent_filter, org_id, limit)
        query = planned or search_sql(dimension, model_id, agent_filter, limit)
        if pieces:
            query = rescored_sql(query)
            params["candidates"] = max(PIECE_CANDIDATES, top_k)
        exact = plan.strategy == "exact"
    walk = max(ef_search, top_k, params.get("candidates", 0))
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(walk),))
        rows = cursor.execute(query, params).fetchall()
        if len(rows) < top_k and not exact:
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
            rows = cursor.execute(query, params).fetchall()
            # SET LOCAL outlives a savepoint: restore it for the rest of a caller's transaction.
            cursor.execute("SELECT set_config('enable_indexscan', 'on', true)")
    return [SearchHit.model_validate(row) for row in rows]


def _check_dimension(dimension: int) -> None:
    if not 1 <= dimension <= 16000:  # pgvector's limit for `vector`
        raise ValueError(f"vector dimension {dimension} outside 1..16000")


def has_ready_chunks(conn: AnyConnection, org_id: UUID, agent_id: UUID) -> bool:
    """Whether the agent (or its organisation, org-wide) has any searchable passage."""
    row = _one(
        conn,
        """SELECT EXISTS (SELECT 1 FROM document_chunks c JOIN documents d ON d.id = c.document_id
                          WHERE c.org_id = %s AND (c.agent_id = %s OR c.agent_id IS NULL)
                            AND d.status = 'READY') AS present""",
        (org_id, agent_id),
    )
    return bool(row and row["present"])
