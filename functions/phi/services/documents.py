"""Uploading, listing, deleting and searching an agent's documents. The bytes go to S3; the S3 → SQS → ingest
pipeline (phi.handlers.ingest) turns them into chunks."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import PurePath
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, Field

from phi.aws import client
from phi.db import documents as documents_repo
from phi.db.connection import DbConnection, after_commit
from phi.db.documents import Document
from phi.documents.extract import SUPPORTED_EXTENSIONS
from phi.documents.models import SearchHit
from phi.domain.document_keys import UPLOAD_URL_SECONDS, document_name, object_key
from phi.domain.models import Agent
from phi.domain.request_body import RequestBody
from phi.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, ServiceUnavailable
from phi.settings import get_settings


class SourceType(StrEnum):
    JD = "JD"
    SOP = "SOP"
    POLICY = "POLICY"
    MANUAL = "MANUAL"
    OTHER = "OTHER"


class UploadTicket(BaseModel):
    document: Document
    upload_url: str = Field(description="HTTP PUT the file's bytes here (no extra headers needed)")
    expires_in: int


class SearchRequest(RequestBody):
    query: str = Field(min_length=1, max_length=2000, examples=["What do we do when a carrier misses a pickup?"])
    top_k: int = Field(default=5, ge=1, le=50)
    include_org_wide: bool = Field(default=True, description="Also search the organisation-wide documents")


def check_file_type(filename: str) -> None:
    """The type is read from the name the document is stored under (document_name: the last path part, control
    characters dropped, blanks trimmed), which is what ingest reads: ' .pdf' is stored as '.pdf', a name with
    no extension, and so is '..\\.md'."""
    extension = PurePath(document_name(filename)).suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        allowed = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise BadRequest(
            f"Unsupported file type {extension or '(none)'!r} in {filename[:100]!r}; upload one of: {allowed}, "
            "with a name before the extension (manual.pdf)"
        )


def check_upload(filename: str, size: int) -> None:
    check_file_type(filename)
    if size == 0:
        raise BadRequest("The file is empty.")
    limit = get_settings().max_upload_bytes
    if size > limit:
        raise PayloadTooLarge(f"The file is {size:,} bytes; the limit is {limit:,} bytes.")


def upload(
    conn: DbConnection,
    agent: Agent,
    filename: str,
    source_type: SourceType,
    data: bytes,
    content_type: str | None,
    org_wide: bool,
    user_id: UUID,
) -> tuple[Document, bool]:
    """Stores the file and records it PROCESSING; the same content again returns the existing document."""
    check_upload(filename, len(data))
    owner = None if org_wide else agent.id
    digest = hashlib.sha256(data).hexdigest()
    existing = documents_repo.find_same_content(conn, agent.org_id, owner, digest)
    if existing is not None and existing.status == "FAILED":
        raise Conflict(
            f"This file is a duplicate of '{existing.filename}' (document {existing.id}), which was uploaded with"
            f" the same content and failed: {existing.error or 'no reason recorded'}. Delete that document to"
            " upload this content again.",
            details={"duplicate_of": str(existing.id), "filename": existing.filename, "status": existing.status},
        )
    if existing is not None:
        return existing, False
    document_id = uuid4()
    key = object_key(agent.org_id, document_id, filename)
    document = documents_repo.insert(
        conn,
        id=document_id,
        org_id=agent.org_id,
        agent_id=owner,
        filename=document_name(filename),
        source_type=source_type.value,
        content_type=content_type,
        s3_key=key,
        bytes=len(data),
        sha256=digest,
        created_by=user_id,
    )
    conn.commit()  # the row must exist before the object-created event reaches the ingest handler
    try:
        client("s3").put_object(
            Bucket=get_settings().documents_bucket,
            Key=key,
            Body=data,
            ContentType=content_type or "application/octet-stream",
        )
    except Exception as exc:
        documents_repo.delete(conn, document_id, agent.org_id)
        conn.commit()
        raise ServiceUnavailable("Document storage is not reachable right now; try again shortly.") from exc
    return document, True


def create_upload_url(
    conn: DbConnection, agent: Agent, filename: str, source_type: SourceType, org_wide: bool, user_id: UUID
) -> UploadTicket:
    """For files too large for the API: the client PUTs straight to S3; ingest checks size and type."""
    check_file_type(filename)
    document_id = uuid4()
    key = object_key(agent.org_id, document_id, filename)
    document = documents_repo.insert(
        conn,
        id=document_id,
        org_id=agent.org_id,
        agent_id=None if org_wide else agent.id,
        filename=document_name(filename),
        source_type=source_type.value,
        content_type=None,
        s3_key=key,
        created_by=user_id,
    )
    url = client("s3").generate_presigned_url(
        "put_object", Params={"Bucket": get_settings().documents_bucket, "Key": key}, ExpiresIn=UPLOAD_URL_SECONDS
    )
    return UploadTicket(document=document, upload_url=url, expires_in=UPLOAD_URL_SECONDS)


def get_for_agent(conn: DbConnection, agent: Agent, document_id: UUID) -> Document:
    document = documents_repo.get_in_org(conn, document_id, agent.org_id)
    if document is None or document.agent_id not in (None, agent.id):
        raise NotFound("Document not found.")
    return document


def delete(conn: DbConnection, agent: Agent, document_id: UUID) -> Document:
    """Delete the document (the agent's own or its organisation's) and its passages; its file goes after the commit."""
    document = get_for_agent(conn, agent, document_id)
    documents_repo.delete(conn, document.id, agent.org_id)  # chunks go with it (ON DELETE CASCADE)
    bucket, key = get_settings().documents_bucket, document.s3_key
    after_commit(conn, lambda: client("s3").delete_object(Bucket=bucket, Key=key))  # the row goes first
    return document


def search(conn: DbConnection, agent: Agent, request: SearchRequest) -> list[SearchHit]:
    from phi.documents.search import search_documents

    return search_documents(
        conn,
        agent.org_id,
        request.query,
        top_k=request.top_k,
        agent_id=agent.id,
        include_org_wide=request.include_org_wide,
    )


def describe(document: Document) -> dict[str, Any]:
    return document.model_dump(mode="json", exclude={"s3_key"})
