"""The ingest step for one stored object: find its document, check its size, read it, ingest it."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from phi.aws import client
from phi.db import documents as documents_repo
from phi.db import search_plan
from phi.db.connection import transaction
from phi.documents.extract import ExtractionLimits
from phi.documents.ingest import ingest_document
from phi.documents.models import OutOfTime
from phi.domain.document_keys import document_id_from_key
from phi.embeddings import get_embedding_provider
from phi.settings import get_settings

logger = logging.getLogger(__name__)


def _version_of(stored: dict[str, Any]) -> dict[str, str]:
    """The object version a head_object answer describes, as get/delete_object's keyword (none when the bucket
    keeps no versions: S3 then says "null")."""
    version_id = stored.get("VersionId")
    return {"VersionId": version_id} if version_id and version_id != "null" else {}


def _gone(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


def _forget_oversized(bucket: str, key: str, version: dict[str, str]) -> None:
    """Deletes the refused object, that version of it (the bucket is versioned: a delete alone would keep it,
    noncurrent, for its retention). An upload URL is a plain signed PUT, which S3 lets carry up to 5 GB; what is
    refused is not kept. A failure is logged, not raised: the document's refusal stands either way."""
    try:
        client("s3").delete_object(Bucket=bucket, Key=key, **version)
    except Exception as error:  # storage cleanup must not turn a refusal into a retry
        logger.warning("could not delete the oversized object %s: %s", key, type(error).__name__)


def ingest_s3_object(bucket: str, raw_key: str, must_finish_by: float | None = None) -> dict[str, Any]:
    """`must_finish_by`: the time.monotonic() by which the caller needs control back; `OutOfTime` is raised
    (and the message should be retried) when too little time is left to start, or reading did not finish."""
    key = unquote_plus(raw_key)  # S3 event keys are URL-encoded
    document_id = document_id_from_key(key)
    if document_id is None:
        return {"key": key, "status": "IGNORED", "reason": "not a document key"}
    settings = get_settings()
    if must_finish_by is not None and time.monotonic() + settings.ingest_reserve_seconds > must_finish_by:
        raise OutOfTime(f"not started: too little time left in this run for document {document_id}")
    try:
        s3 = client("s3")
        try:
            stored = s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _gone(error):  # a redelivered event for a file deleted since (by its owner, or refused for its size)
                return {"key": key, "status": "IGNORED", "reason": "the stored file is gone"}
            raise
        size = int(stored["ContentLength"])
        limit = settings.max_upload_bytes
        # The version measured is the one read (and, refused, deleted): the upload URL is still valid, and the
        # object may be replaced meanwhile. At most one byte past the limit is read all the same.
        version = _version_of(stored)
        data = b"" if size > limit else s3.get_object(Bucket=bucket, Key=key, **version)["Body"].read(limit + 1)
        if size > limit or len(data) > limit:
            with transaction() as conn:
                measured = f"{size:,} bytes" if size > limit else f"more than {limit:,} bytes"
                reason = f"the file is {measured}; the limit is {limit:,} bytes"
                documents_repo.mark_failed(conn, document_id, reason)
            _forget_oversized(bucket, key, version)
            return {"key": key, "status": "FAILED", "reason": "too large"}
    except Exception as error:  # retried by the queue; the reason stays on the document for the sweeper
        with transaction() as conn:
            reason = f"the last attempt could not read the stored file: {type(error).__name__}: {str(error)[:300]}"
            documents_repo.note_attempt_failed(conn, document_id, reason)
        raise
    with transaction() as conn:
        documents_repo.record_object(conn, document_id, len(data), hashlib.sha256(data).hexdigest())
        conn.commit()
        embedder = get_embedding_provider()
        limits = ExtractionLimits.from_settings().model_copy(update={"must_finish_by": must_finish_by})
        outcome = ingest_document(conn, document_id, data, embedder, limits)
        if outcome.status == "READY":  # a large organisation gets its own vector index (phi.db.search_plan)
            search_plan.ensure_org_vector_index_for_document(conn, document_id, embedder.dimension)
    return {"key": key, **outcome.model_dump(mode="json")}
