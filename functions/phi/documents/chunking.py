"""Split an extracted document into retrieval chunks on heading and paragraph boundaries.

Rules, in order of preference for a cut: a heading (always starts a new chunk), a paragraph break,
a sentence end, a space. A word is never cut unless it alone is longer than a chunk may be.
Each chunk after the first of a section starts with the end of the previous chunk (`overlap_chars`
at most, from a sentence or word boundary) so a fact spanning a cut stays findable.
`page` is the page where the chunk's own (non-overlap) text starts. Same input, same chunks.
A heading with no text of its own before the next heading (a chapter title above its first section) is
merged into the section that follows, never left as a chunk of its own: a title-only chunk matches many
questions a little and answers none (measured in bench/bench_retrieval.py).
A chunk's `heading` is at most `MAX_HEADING_CHARS` long (the innermost headings of a merged chain are kept), and
its length counts toward the chunk's size, since `embedding_input` puts it before the text of later chunks.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from phi.documents.models import Chunk, ExtractedDocument

_PARAGRAPH_JOINER = "\n\n"
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


class _Unit(BaseModel):
    """A paragraph (or a piece of a long one) with the page it is on."""

    model_config = ConfigDict(frozen=True)

    text: str
    page: int | None


class _Section(BaseModel):
    heading: str | None
    units: list[_Unit]


def chunk(
    doc: ExtractedDocument,
    *,
    min_chars: int = 500,
    max_chars: int = 1000,
    overlap_chars: int = 120,
    merge_heading_only: bool = True,
    max_chunks: int | None = None,
) -> list[Chunk]:
    """The document's chunks; with `max_chunks`, at most `max_chunks + 1` of them (enough to tell it is too many)."""
    if not 0 <= overlap_chars < min_chars <= max_chars:
        raise ValueError("expected 0 <= overlap_chars < min_chars <= max_chars")
    heading_limit = min(MAX_HEADING_CHARS, max_chars // 5)
    chunks: list[Chunk] = []
    sections = _sections(doc)
    for section in _merge_heading_only(list(sections)) if merge_heading_only else sections:
        heading = _capped_heading(section.heading, heading_limit) if section.heading is not None else None
        # The heading goes before the text in the embedding input: it takes its share of the size.
        room = max_chars - (len(heading) + 1 if heading else 0)
        # Room for the overlap is reserved so that overlap + one unit always fits.
        max_unit = max(room - overlap_chars - len(_PARAGRAPH_JOINER), 1)
        for text, page in _pack_section(section, min(min_chars, room), room, max_unit, overlap_chars):
            chunks.append(
                Chunk(
                    index=len(chunks),
                    text=text,
                    page=page,
                    heading=heading,
                    content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                )
            )
            if max_chunks is not None and len(chunks) > max_chunks:
                return chunks
    return chunks


def _sections(doc: ExtractedDocument) -> Iterator[_Section]:
    """A section runs from one heading to the next; its heading text is part of its first chunk."""
    current = _Section(heading=None, units=[])
    for page in doc.pages:
        for block in page.blocks:
            if block.kind == "heading":
                if current.units:
                    yield current
                current = _Section(heading=block.text, units=[])
            current.units.append(_Unit(text=block.text, page=page.number))
    if current.units:
        yield current


HEADING_SEPARATOR = " > "
MAX_HEADING_CHARS = 200


def _capped_heading(heading: str, limit: int) -> str:
    """The innermost headings of a chain that fit in `limit` characters; one longer heading is cut at a word."""
    kept: list[str] = []
    length = 0
    for part in reversed(heading.split(HEADING_SEPARATOR)):
        added = len(part) + (len(HEADING_SEPARATOR) if kept else 0)
        if length + added > limit:
            break
        kept.append(part)
        length += added
    if kept:
        return HEADING_SEPARATOR.join(reversed(kept))
    last = heading.rsplit(HEADING_SEPARATOR, 1)[-1]
    head, _ = _split_at_boundary(last, limit - 1)
    return (head or last[: limit - 1]) + "…"


def _merge_heading_only(sections: list[_Section]) -> list[_Section]:
    """Headings without a body join the next section with a body (the last ones join the previous section)."""
    merged: list[_Section] = []
    waiting: list[_Section] = []
    for section in sections:
        if section.heading is not None and len(section.units) == 1:  # only its heading
            waiting.append(section)
            continue
        if waiting:
            headings = [s.heading for s in [*waiting, section] if s.heading is not None]
            units = [unit for s in waiting for unit in s.units] + section.units
            section = _Section(heading=HEADING_SEPARATOR.join(headings), units=units)
            waiting = []
        merged.append(section)
    if waiting:
        units = [unit for s in waiting for unit in s.units]
        if merged:
            merged[-1] = _Section(heading=merged[-1].heading, units=merged[-1].units + units)
        else:
            headings = [s.heading for s in waiting if s.heading is not None]
            merged.append(_Section(heading=HEADING_SEPARATOR.join(headings), units=units))
    return merged


def _pack_section(
    section: _Section, min_chars: int, max_chars: int, max_unit: int, overlap_chars: int
) -> Iterator[tuple[str, int | None]]:
    pending = deque(piece for unit in section.units for piece in _split_long_unit(unit, max_unit))
    parts: list[str] = []  # the chunk being built; parts[0] may be overlap
    page: int | None = None
    has_own_text = False
    while pending:
        unit = pending.popleft()
        if not has_own_text:
            page = unit.page
        length = _joined_length(parts)
        if not parts or length + len(_PARAGRAPH_JOINER) + len(unit.text) <= max_chars:
            parts.append(unit.text)
            has_own_text = True
            continue
        if has_own_text and length < min_chars:
            # Fill a too-short chunk with the head of the next paragraph instead of leaving it small.
            room = max_chars - length - len(_PARAGRAPH_JOINER)
            head, tail = _split_at_boundary(unit.text, room)
            if head:
                parts.append(head)
                pending.appendleft(_Unit(text=tail, page=unit.page))
                unit = pending.popleft()
        text = _PARAGRAPH_JOINER.join(parts)
        yield text, page
        overlap = _tail_on_boundary(text, overlap_chars)
        parts = [overlap] if overlap else []
        has_own_text = False
        pending.appendleft(unit)
    if has_own_text:
        yield _PARAGRAPH_JOINER.join(parts), page


def _joined_length(parts: list[str]) -> int:
    return sum(len(part) for part in parts) + len(_PARAGRAPH_JOINER) * max(len(parts) - 1, 0)


def _split_long_unit(unit: _Unit, max_unit: int) -> list[_Unit]:
    """The unit in pieces of at most `max_unit` characters, each cut at a boundary where one fits. Walks an offset:
    slicing off the rest at each cut made a paragraph of n characters cost n²/max_unit."""
    pieces = []
    text, start = unit.text, 0
    while len(text) - start > max_unit:
        cut = _boundary_cut(text, start, max_unit)
        head = ""
        if cut is not None:
            head, start = text[start:cut].rstrip(), _after_spaces(text, cut)
        if not head:  # a single "word" longer than a chunk: cutting it is the only way
            head, start = text[start : start + max_unit], start + max_unit
        pieces.append(_Unit(text=head, page=unit.page))
    if start < len(text):
        pieces.append(_Unit(text=text[start:], page=unit.page))
    return pieces


def _split_at_boundary(text: str, limit: int) -> tuple[str, str]:
    """The longest head of at most `limit` chars ending at a sentence end, else at a space."""
    if len(text) <= limit:
        return text, ""
    cut = _boundary_cut(text, 0, limit)
    if cut is None:
        return "", text
    return text[:cut].rstrip(), text[_after_spaces(text, cut) :]


def _boundary_cut(text: str, start: int, limit: int) -> int | None:
    """Where the longest piece of `text` from `start`, at most `limit` chars, ends at a sentence end, else at a
    space; None when there is neither (text[start:] is longer than `limit`)."""
    window = text[start : start + limit + 1]
    sentence_ends = [match.start() for match in _SENTENCE_END.finditer(window) if match.start() <= limit]
    # A sentence cut that keeps less than half the window wastes too much room; use a word cut then.
    if sentence_ends and sentence_ends[-1] >= limit // 2:
        return start + sentence_ends[-1]
    cut = window.rfind(" ", 0, limit + 1)
    return start + cut if cut > 0 else None


def _after_spaces(text: str, index: int) -> int:
    """The first index at or after `index` that is not whitespace (what lstrip() would leave)."""
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _tail_on_boundary(text: str, overlap_chars: int) -> str:
    """The end of `text`, at most `overlap_chars` long, starting at a sentence start if one fits."""
    if overlap_chars == 0 or len(text) <= overlap_chars:
        return "" if overlap_chars == 0 else text
    window = text[-overlap_chars:]
    starts = [match.end() for match in _SENTENCE_END.finditer(window)]
    if starts and starts[0] < len(window):
        return window[starts[0] :].strip()
    space = window.find(" ")
    if space == -1 or space == len(window) - 1:
        return ""
    return window[space + 1 :].strip()


# Sentence pieces of a chunk, for scoring a chunk by its best-matching sentence as well as by its whole text
# (multi-vector retrieval): one vector per chunk averages every topic the chunk touches, so a question about
# one of its sentences can lose to a chunk that is vaguely about everything (measured in bench/bench_retrieval.py).
_PIECE_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MIN_PIECE_WORDS = 3  # a shorter sentence ("Yes.", "See 4.2.") joins the next one: alone it matches anything a little
MAX_PIECES_PER_CHUNK = 12  # bounds the vectors per chunk: more sentences are grouped into this many windows


def chunk_pieces(item: Chunk) -> list[str]:
    """The sentences of a chunk's own text (its heading lines left out: the chunk's vector has them), short ones
    joined to the next, at most `MAX_PIECES_PER_CHUNK` (consecutive sentences grouped evenly beyond that).
    A chunk that is only a heading has no pieces. Same chunk, same pieces."""
    headings = set(item.heading.split(HEADING_SEPARATOR)) if item.heading else set()
    sentences: list[str] = []
    for paragraph in item.text.split(_PARAGRAPH_JOINER):
        paragraph = paragraph.strip()
        if not paragraph or paragraph in headings:
            continue
        sentences.extend(s.strip() for s in _PIECE_SENTENCE_END.split(paragraph) if s.strip())
    pieces: list[str] = []
    pending = ""
    for sentence in sentences:
        pending = f"{pending} {sentence}" if pending else sentence
        if len(pending.split()) >= MIN_PIECE_WORDS:
            pieces.append(pending)
            pending = ""
    if pending:
        if pieces:
            pieces[-1] = f"{pieces[-1]} {pending}"
        else:
            pieces.append(pending)
    if len(pieces) > MAX_PIECES_PER_CHUNK:
        size = -(-len(pieces) // MAX_PIECES_PER_CHUNK)  # ceil: sentences per window
        pieces = [" ".join(pieces[start : start + size]) for start in range(0, len(pieces), size)]
    return pieces
