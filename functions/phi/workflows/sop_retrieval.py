"""SOP passages relevant to the day's anomalies, for citation in the report."""

from __future__ import annotations

from uuid import UUID

from phi.db.connection import transaction
from phi.workflows.warehouse.kpis import WarehouseKpis
from phi.workflows.warehouse.report import Citation

_PASSAGES_PER_ANOMALY = 2
_MIN_SCORE = 0.2


def citations_for_anomalies(org_id: UUID, agent_id: UUID, kpis: WarehouseKpis) -> list[Citation]:
    if not kpis.anomalies or not _has_ready_chunks(org_id, agent_id):
        return []
    from phi.documents.search import search_documents

    citations: list[Citation] = []
    seen: set[tuple[str, int | None, str]] = set()
    for anomaly in kpis.anomalies:
        hits = search_documents(org_id, anomaly.message, top_k=_PASSAGES_PER_ANOMALY, agent_id=agent_id)
        for hit in hits:
            key = (hit.filename, hit.page, hit.text[:80])
            if hit.score < _MIN_SCORE or key in seen:
                continue
            seen.add(key)
            citations.append(
                Citation(
                    document=hit.filename, page=hit.page, heading=hit.heading, text=hit.text,
                    anomaly_code=anomaly.code,
                )
            )
    return citations


def _has_ready_chunks(org_id: UUID, agent_id: UUID) -> bool:
    with transaction() as conn:
        row = conn.execute(
            """SELECT EXISTS (SELECT 1 FROM document_chunks c JOIN documents d ON d.id = c.document_id
                              WHERE c.org_id = %s AND (c.agent_id = %s OR c.agent_id IS NULL)
                                AND d.status = 'READY') AS present""",
            (org_id, agent_id),
        ).fetchone()
    return bool(row and row["present"])
