"""Search over an organisation's documents: the configured embedding model's vector ranking fused with
PostgreSQL's full-text ranking of the same question (hybrid retrieval, see phi.db.documents)."""

from __future__ import annotations

from uuid import UUID

from phi.db import documents as documents_repo
from phi.db.connection import DbConnection
from phi.documents.models import SearchHit
from phi.embeddings import get_embedding_provider


def search_documents(
    conn: DbConnection, org_id: UUID, query: str, *, top_k: int, agent_id: UUID | None = None,
    include_org_wide: bool = True,
) -> list[SearchHit]:
    embedder = get_embedding_provider()
    [vector] = embedder.embed([query])
    return documents_repo.search(
        conn, org_id, vector, embedder.model_id, embedder.dimension, top_k=top_k, agent_id=agent_id,
        include_org_wide=include_org_wide, query_text=query,
    )
