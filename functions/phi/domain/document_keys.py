"""Where a document's bytes live in S3: `documents/{org_id}/{document_id}/{filename}`. Shared by the API
(uploads) and the ingest pipeline, so it sits below both."""

from __future__ import annotations

import re
from pathlib import PurePath
from uuid import UUID

from phi.names import DOCUMENTS_PREFIX

# How long a pre-signed upload URL stays valid; the sweeper expires a document whose upload never came.
UPLOAD_URL_SECONDS = 900


def object_key(org_id: UUID, document_id: UUID, filename: str) -> str:
    return f"{DOCUMENTS_PREFIX}{org_id}/{document_id}/{safe_filename(filename)}"


def document_id_from_key(key: str) -> UUID | None:
    parts = key.removeprefix(DOCUMENTS_PREFIX).split("/")
    try:
        return UUID(parts[1]) if key.startswith(DOCUMENTS_PREFIX) and len(parts) >= 3 else None
    except ValueError:
        return None


def safe_filename(filename: str) -> str:
    name = PurePath(filename.replace("\\", "/")).name
    return re.sub(r"[^A-Za-z0-9._ -]", "_", name).strip() or "document"
