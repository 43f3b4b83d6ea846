"""No document stays PROCESSING: the periodic sweeper (a Lambda on a schedule on AWS, the scheduler loop on the
embedded stack) fails documents whose ingest stopped progressing, with the last attempt's reason, and expires
pre-signed uploads that were never used. This covers messages that went to the ingest dead-letter queue too:
their documents stop progressing, whatever killed them (a timeout, an out-of-memory, repeated errors)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from phi.db import documents as documents_repo
from phi.db.connection import transaction
from phi.domain.document_keys import UPLOAD_URL_SECONDS
from phi.settings import get_settings

log = logging.getLogger("phi.documents.sweeper")
# A PUT that started just before its URL expired may still be arriving.
UPLOAD_GRACE_SECONDS = 15 * 60


# Chunks given their full-text vector per sweep, once hybrid search is turned on (about 0.1 ms each): a backlog
# of chunks written while it was off is worked off in bounded steps (every 5 minutes on AWS, every second embedded).
SEARCH_TEXT_BATCH = 5_000


class DocumentSweep(BaseModel):
    failed: int
    expired: int
    search_text_filled: int = 0


def sweep_documents(now: datetime | None = None) -> DocumentSweep:

    now = now or datetime.now(UTC)
    stale_before = now - timedelta(seconds=get_settings().document_stale_seconds)
    unused_before = now - timedelta(seconds=UPLOAD_URL_SECONDS + UPLOAD_GRACE_SECONDS)
    with transaction() as conn:
        failed = documents_repo.fail_stale_processing(conn, stale_before)
        expired = documents_repo.expire_unused_uploads(conn, unused_before)
    for document in failed:
        log.warning("document %s (org %s) failed by the sweeper: %s", document.id, document.org_id, document.error)
    filled = 0
    if get_settings().hybrid_search:
        with transaction() as conn:
            filled = documents_repo.fill_missing_search_text(conn, SEARCH_TEXT_BATCH)
    return DocumentSweep(failed=len(failed), expired=len(expired), search_text_filled=filled)
