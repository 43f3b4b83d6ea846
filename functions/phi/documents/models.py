"""Typed values passed between the stages of the document pipeline."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class DocumentRejected(Exception):
    """The uploaded file cannot become searchable memory; `reason` is shown to the user as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Block(BaseModel):
    """A heading or a paragraph, in reading order."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["heading", "paragraph"]
    text: str
    level: int = Field(default=0, description="Heading level (1 = top); 0 for paragraphs")


class Page(BaseModel):
    """One page of a paged format (PDF), or the whole text of a non-paged one.

    `number` is the 1-based page number for PDFs and None for DOCX, TXT and Markdown: those formats
    have no page model, and a citation "page 1" for a 40-page Word file would mislead.
    """

    model_config = ConfigDict(frozen=True)

    number: int | None
    blocks: list[Block]

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)


class ExtractedDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: Literal["pdf", "docx", "txt", "md"]
    pages: list[Page]

    @property
    def page_count(self) -> int | None:
        """Number of pages for paged formats, None otherwise (the `documents.pages` value)."""
        if self.format != "pdf":
            return None
        return len(self.pages)

    @property
    def char_count(self) -> int:
        return sum(len(page.text) for page in self.pages)


class Chunk(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int
    text: str
    page: int | None
    heading: str | None
    content_hash: str = Field(description="sha256 hex of `text`")


# Below this score a passage is not about the question, only the nearest there is (an SOP on another subject,
# when the organisation has none on this one): reports do not cite it. The same floor for every embedding model
# the product ships; a search_docs node may set its own `min_score`.
RELEVANT_SCORE = 0.3


class SearchHit(BaseModel):
    model_config = ConfigDict(frozen=True)

    document_id: UUID
    filename: str
    chunk_index: int
    text: str
    page: int | None
    heading: str | None
    score: float = Field(description="1 - cosine distance: 1 is identical, 0 unrelated")


class OutOfTime(Exception):
    """The caller's own time ran out before this document was done (not the document's fault): it is retried."""
