"""An agent's documents: upload (multipart, or a pre-signed URL for large files), list, delete, search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Response, UploadFile, status
from pydantic import BaseModel, Field

from phi.api.deps import LIST_HEADERS, TOTAL_COUNT_HEADER, AdminAgent, CallerAgent, Conn, CurrentUser, Page
from phi.api.uploads import MAX_FILENAME_CHARS, FileParts, read_upload
from phi.db import documents as documents_repo
from phi.db.documents import Document
from phi.documents.models import SearchHit
from phi.domain.request_body import RequestBody
from phi.services import documents as documents_service
from phi.services.documents import SearchRequest, SourceType, UploadTicket

router = APIRouter(tags=["documents"])


class PublicDocument(BaseModel):
    """A document as members see it: no storage internals (bucket keys stay on the server)."""

    id: UUID
    org_id: UUID
    agent_id: UUID | None = Field(description="None for an organisation-wide document")
    filename: str
    source_type: str
    content_type: str | None
    bytes: int | None
    sha256: str | None
    status: str = Field(examples=["READY"])
    error: str | None
    pages: int | None
    chunk_count: int | None
    embedding_model: str | None
    created_at: datetime
    updated_at: datetime


class PublicUploadTicket(BaseModel):
    document: PublicDocument
    upload_url: str = Field(description="HTTP PUT the file's bytes here (no extra headers needed)")
    expires_in: int


class UploadUrlRequest(RequestBody):
    filename: str = Field(min_length=1, max_length=255, examples=["SOP-late-shipments.pdf"])
    source_type: SourceType = SourceType.SOP
    org_wide: bool = Field(default=False, description="Teach every agent of the organisation, not just this one")


@router.post(
    "/agents/{agent_id}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=PublicDocument,
    summary="Upload a document (PDF, DOCX, TXT, Markdown); it is ingested in the background",
    description="The body is refused with 413 as soon as it passes the upload limit (it is never read whole "
    f"first); file names are limited to {MAX_FILENAME_CHARS} characters.",
    responses={
        200: {"description": "The same content was already uploaded: the existing document"},
        409: {"description": "The same content was uploaded before and failed: names that document and why"},
        413: {"description": "Larger than the upload limit: use /documents/upload-url"},
    },
)
def upload(
    agent: AdminAgent,
    conn: Conn,
    user: CurrentUser,
    response: Response,
    file: Annotated[UploadFile, File(description="The document")],
    file_parts: FileParts,
    source_type: Annotated[SourceType, Form()] = SourceType.SOP,
    org_wide: Annotated[bool, Form()] = False,
) -> Document:
    filename, data = read_upload(file, file_parts, "; use /documents/upload-url")
    document, created = documents_service.upload(
        conn, agent, filename, source_type, data, file.content_type, org_wide, user.id
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return document


@router.post(
    "/agents/{agent_id}/documents/upload-url",
    status_code=status.HTTP_201_CREATED,
    response_model=PublicUploadTicket,
    summary="A pre-signed URL to upload a large document straight to storage",
)
def upload_url(body: UploadUrlRequest, agent: AdminAgent, conn: Conn, user: CurrentUser) -> UploadTicket:
    return documents_service.create_upload_url(conn, agent, body.filename, body.source_type, body.org_wide, user.id)


@router.get(
    "/agents/{agent_id}/documents",
    response_model=list[PublicDocument],
    responses=LIST_HEADERS,
    summary="The agent's documents and the organisation-wide ones, newest first, with status, pages, chunks and errors",
)
def list_documents(agent: CallerAgent, conn: Conn, page: Page, response: Response) -> list[Document]:
    documents, total = documents_repo.page_for_agent(conn, agent.org_id, agent.id, page.limit, page.offset)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return documents


@router.get("/agents/{agent_id}/documents/{document_id}", response_model=PublicDocument)
def get_document(document_id: UUID, agent: CallerAgent, conn: Conn) -> Document:
    return documents_service.get_for_agent(conn, agent, document_id)


@router.delete(
    "/agents/{agent_id}/documents/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a document, its chunks and its stored file",
)
def delete_document(document_id: UUID, agent: AdminAgent, conn: Conn) -> Response:
    documents_service.delete(conn, agent, document_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/agents/{agent_id}/search-docs",
    response_model=list[SearchHit],
    summary="Semantic search over the agent's documents (and the organisation-wide ones)",
)
def search_docs(body: SearchRequest, agent: CallerAgent, conn: Conn) -> list[SearchHit]:
    return documents_service.search(conn, agent, body)
