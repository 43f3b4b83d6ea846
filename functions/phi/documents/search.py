"""Search over an organisation's documents with the configured embedding model: the nearest chunks, re-ranked
by their best-matching sentence as well (multi-vector, phi.db.documents.search); with PHI_SEARCH_TEXT_WEIGHT > 0,
fused with PostgreSQL's full-text ranking of the same question instead (hybrid retrieval). A question's vector
is kept per process and organisation (phi.embeddings.query_vectors): a workflow asks the same ones every run."""

from __future__ import annotations

from uuid import UUID

from phi.db import documents as documents_repo
from phi.db.connection import DbConnection
from phi.documents.models import SearchHit
from phi.embeddings import get_embedding_provider
from phi.embeddings.query_vectors import query_vectors
from phi.settings import get_settings


def search_documents(
    conn: DbConnection,
    org_id: UUID,
    query: str,
    *,
    top_k: int,
    agent_id: UUID | None = None,
    include_org_wide: bool = True,
) -> list[SearchHit]:
    embedder = get_embedding_provider()
    vector = query_vectors.vector(embedder, query, scope=str(org_id))
    text_weight = get_settings().search_text_weight
    return documents_repo.search(
        conn,
        org_id,
        vector,
        embedder.model_id,
        embedder.dimension,
        top_k=top_k,
        agent_id=agent_id,
        include_org_wide=include_org_wide,
        query_text=query if text_weight > 0 else None,
        text_weight=text_weight,
    )
