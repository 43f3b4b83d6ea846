"""The ingest step for one stored object: find its document, check its size, read it, ingest it."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import unquote_plus

from phi.aws import client
from phi.db import documents as documents_repo
from phi.db.connection import transaction
from phi.documents import store
from phi.documents.ingest import ingest_document
from phi.domain.document_keys import document_id_from_key
from phi.embeddings import get_embedding_provider
from phi.settings import get_settings


def ingest_s3_object(bucket: str, raw_key: str) -> dict[str, Any]:
    key = unquote_plus(raw_key)  # S3 event keys are URL-encoded
    document_id = document_id_from_key(key)
    if document_id is None:
        return {"key": key, "status": "IGNORED", "reason": "not a document key"}
    s3 = client("s3")
    size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    limit = get_settings().max_upload_bytes
    if size > limit:
        with transaction() as conn:
            store.mark_failed(conn, document_id, f"the file is {size:,} bytes; the limit is {limit:,} bytes")
        return {"key": key, "status": "FAILED", "reason": "too large"}
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with transaction() as conn:
        documents_repo.record_object(conn, document_id, len(data), hashlib.sha256(data).hexdigest())
        conn.commit()
        outcome = ingest_document(conn, document_id, data, get_embedding_provider())
    return {"key": key, **outcome.model_dump(mode="json")}
