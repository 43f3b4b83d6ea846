"""Search strategy by scope size (phi.db.search_plan) on the real PostgreSQL + pgvector: exact search for a small
scope, an organisation's own partial HNSW index once it is large, and the same results as brute force."""

from __future__ import annotations

import random
import uuid

import psycopg

from phi.db import documents as store
from phi.db import search_plan
from phi.documents.models import Chunk
from tests.support.documents_db import add_agent, add_document, add_org

DIMENSION = 16


def unit_vector(rng: random.Random) -> list[float]:
    values = [rng.gauss(0, 1) for _ in range(DIMENSION)]
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def add_ready_chunks(
    conn: psycopg.Connection,
    org_id: uuid.UUID,
    model_id: str,
    vectors: list[list[float]],
    agent_id: uuid.UUID | None = None,
) -> uuid.UUID:
    document_id = add_document(conn, org_id, f"{uuid.uuid4().hex}.txt", uuid.uuid4().bytes, agent_id)
    chunks = [
        Chunk(index=i, text=f"chunk {i}", page=None, heading=None, content_hash=str(i)) for i in range(len(vectors))
    ]
    with conn.transaction():
        store.write_chunks(conn, document_id, org_id, agent_id, chunks, vectors, model_id)
        store.mark_ready(conn, document_id, pages=None, chunk_count=len(vectors), model_id=model_id)
    return document_id


def brute_force(vectors: list[list[float]], query: list[float], k: int) -> list[int]:
    scores = [sum(a * b for a, b in zip(v, query, strict=True)) for v in vectors]
    return sorted(range(len(vectors)), key=lambda i: -scores[i])[:k]


def explain(conn: psycopg.Connection, query: psycopg.sql.Composed, params: dict[str, object]) -> str:
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")  # the table is tiny; ask which index fits
        conn.execute("SET LOCAL enable_bitmapscan = off")
        return "\n".join(row[0] for row in conn.execute(b"EXPLAIN " + query.as_bytes(conn), params))


def test_small_scope_is_searched_exactly_even_beside_a_shared_index(conn: psycopg.Connection) -> None:
    model_id = f"plan-model-{uuid.uuid4().hex[:6]}"
    rng = random.Random(3)
    big_org, small_org = add_org(conn), add_org(conn)
    add_ready_chunks(conn, big_org, model_id, [unit_vector(rng) for _ in range(2000)])
    small_vectors = [unit_vector(rng) for _ in range(30)]
    add_ready_chunks(conn, small_org, model_id, small_vectors)
    store.ensure_vector_index(conn, model_id, DIMENSION)
    conn.execute("ANALYZE document_chunks")

    plan = search_plan.plan_search(conn, small_org, model_id, DIMENSION, "org")
    assert plan.strategy == "exact" and plan.chunks == 30
    query = unit_vector(rng)
    sql = search_plan.planned_search_sql(plan, DIMENSION, model_id, "org", small_org)
    assert sql is not None
    params = {"query": store.vector_literal(query), "org_id": small_org, "agent_id": None, "top_k": 10}
    assert "hnsw" not in explain(conn, sql, params)  # no graph walk that would filter the org's rows away

    hits = store.search(conn, small_org, query, model_id, DIMENSION, top_k=10)
    assert [hit.chunk_index for hit in hits] == brute_force(small_vectors, query, 10)


def test_large_organisation_gets_and_uses_its_own_index(conn: psycopg.Connection) -> None:
    model_id = f"plan-model-{uuid.uuid4().hex[:6]}"
    rng = random.Random(5)
    large_org, other_org = add_org(conn), add_org(conn)
    vectors = [unit_vector(rng) for _ in range(300)]
    add_ready_chunks(conn, large_org, model_id, vectors)
    add_ready_chunks(conn, other_org, model_id, [unit_vector(rng) for _ in range(300)])

    assert search_plan.ensure_org_vector_index(conn, other_org, model_id, DIMENSION, exact_max_chunks=1000) is None
    name = search_plan.ensure_org_vector_index(conn, large_org, model_id, DIMENSION, exact_max_chunks=100)
    assert name == search_plan.org_index_name(large_org, model_id, DIMENSION)
    assert search_plan.ensure_org_vector_index(conn, large_org, model_id, DIMENSION, exact_max_chunks=100) == name
    conn.execute("ANALYZE document_chunks")

    plan = search_plan.plan_search(conn, large_org, model_id, DIMENSION, "org", exact_max_chunks=100)
    assert plan.strategy == "org_index" and plan.index == name and plan.chunks == 300
    # Without its own index a large organisation stays on the shared one.
    other_plan = search_plan.plan_search(conn, other_org, model_id, DIMENSION, "org", exact_max_chunks=100)
    assert other_plan.strategy == "shared_index"
    assert search_plan.planned_search_sql(other_plan, DIMENSION, model_id, "org", other_org) is None

    query = unit_vector(rng)
    sql = search_plan.planned_search_sql(plan, DIMENSION, model_id, "org", large_org)
    assert sql is not None
    params = {"query": store.vector_literal(query), "org_id": large_org, "agent_id": None, "top_k": 10}
    assert f"Index Scan using {name} " in explain(conn, sql, params)
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', '200', true)")
        rows = cursor.execute(sql, params).fetchall()
    found = {row[2] for row in rows}
    assert len(found & set(brute_force(vectors, query, 10))) >= 9  # approximate, on 300 random vectors


def test_agent_scope_is_counted_on_its_own(conn: psycopg.Connection) -> None:
    model_id = f"plan-model-{uuid.uuid4().hex[:6]}"
    rng = random.Random(11)
    org = add_org(conn)
    agent, other_agent = add_agent(conn, org), add_agent(conn, org)
    add_ready_chunks(conn, org, model_id, [unit_vector(rng) for _ in range(7)])  # organisation-wide
    add_ready_chunks(conn, org, model_id, [unit_vector(rng) for _ in range(5)], agent)
    add_ready_chunks(conn, org, model_id, [unit_vector(rng) for _ in range(40)], other_agent)

    def chunks(agent_filter: search_plan.AgentFilter) -> int:
        return search_plan.plan_search(conn, org, model_id, DIMENSION, agent_filter, agent).chunks

    assert chunks("org") == 52
    assert chunks("agent") == 5
    assert chunks("agent_or_org_wide") == 12
    assert search_plan.plan_search(conn, add_org(conn), model_id, DIMENSION, "org").chunks == 0


def test_ensure_after_an_ingest_builds_the_index_and_leaves_a_transactional_connection_usable(
    database_url: str,
) -> None:
    model_id = f"plan-model-{uuid.uuid4().hex[:6]}"
    rng = random.Random(13)
    with psycopg.connect(database_url, autocommit=True) as setup:
        small_org, large_org = add_org(setup), add_org(setup)
        small_document = add_ready_chunks(setup, small_org, model_id, [unit_vector(rng) for _ in range(10)])
        large_document = add_ready_chunks(
            setup, large_org, model_id, [unit_vector(rng) for _ in range(search_plan.EXACT_MAX_CHUNKS + 1)]
        )
    with psycopg.connect(database_url) as conn:  # not autocommit, like the pool's connections
        conn.execute("SELECT 1")  # a transaction is open, as after an ingest
        assert search_plan.ensure_org_vector_index_for_document(conn, small_document, DIMENSION) is None
        name = search_plan.ensure_org_vector_index_for_document(conn, large_document, DIMENSION)
        assert name == search_plan.org_index_name(large_org, model_id, DIMENSION)
        assert conn.autocommit is False
        row = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)).fetchone()
        assert row == (True,)
        assert search_plan.plan_search(conn, large_org, model_id, DIMENSION, "org").strategy == "org_index"
