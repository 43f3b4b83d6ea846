"""Semantic search over an organisation's documents with the configured embedding model."""

from __future__ import annotations

from uuid import UUID

from phi.db.connection import DbConnection
from phi.documents import store
from phi.documents.models import SearchHit
from phi.embeddings import get_embedding_provider


def search_documents(
    conn: DbConnection, org_id: UUID, query: str, *, top_k: int, agent_id: UUID | None = None,
    include_org_wide: bool = True,
) -> list[SearchHit]:
    embedder = get_embedding_provider()
    [vector] = embedder.embed([query])
    return store.search(
        conn, org_id, vector, embedder.model_id, embedder.dimension, top_k=top_k, agent_id=agent_id,
        include_org_wide=include_org_wide,
    )
