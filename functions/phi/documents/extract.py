"""Text extraction from uploaded files (PDF, DOCX, TXT, Markdown) with strict input checks.

Every way an upload can be unusable ends in `DocumentRejected` with a reason a person can act on;
the checks that guard memory (size, zip bomb) run before any parser sees the bytes.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from phi.documents.models import Block, DocumentRejected, ExtractedDocument, Page

if TYPE_CHECKING:
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from pypdf import PdfReader

Format = Literal["pdf", "docx", "txt", "md"]
SUPPORTED_EXTENSIONS: dict[str, Format] = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".md": "md"}

_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
_MIB = 1024 * 1024


class ExtractionLimits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_bytes: int = 50 * _MIB
    max_pages: int = 2000
    # A DOCX's XML compresses 5-20x; zip bombs reach 1000x. Checked from the zip directory.
    max_uncompressed_bytes: int = 200 * _MIB
    max_compression_ratio: float = 100.0
    max_zip_entries: int = 5000
    # Bounded work per document, checked before anything is embedded: a small file can still decompress into
    # pages of millions of characters (a PDF content stream compresses ~1000x) and 100,000s of chunks.
    max_chars: int = 2_000_000
    max_chunks: int = 4_000
    max_page_content_bytes: int = 8 * _MIB
    max_page_seconds: float = 20.0
    max_seconds: float = 120.0

    @classmethod
    def from_settings(cls) -> ExtractionLimits:
        from phi.settings import get_settings

        settings = get_settings()
        return cls(
            max_chars=settings.ingest_max_chars,
            max_chunks=settings.ingest_max_chunks,
            max_page_seconds=settings.ingest_max_page_seconds,
            max_seconds=settings.ingest_max_seconds,
        )


# C0 and C1 control characters (tab and line breaks aside), lone surrogates and non-characters: PostgreSQL
# refuses NUL in text, and none of them carries meaning in a passage. Vertical tab and form feed break lines.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKING_CONTROLS = re.compile("[\x0b\x0c]")


def clean_text(text: str) -> str:
    return _CONTROL_CHARACTERS.sub("", _LINE_BREAKING_CONTROLS.sub("\n", text))


def extract(data: bytes, filename: str, limits: ExtractionLimits | None = None) -> ExtractedDocument:
    limits = limits or ExtractionLimits()
    file_format = detect_format(filename)
    if not data:
        raise DocumentRejected("empty file (0 bytes)")
    if len(data) > limits.max_bytes:
        raise DocumentRejected(f"file too large: {len(data):,} bytes, the limit is {limits.max_bytes:,} bytes")
    check_content_matches(data, file_format)
    if file_format == "pdf":
        document = _extract_pdf(data, limits)
    elif file_format == "docx":
        document = _extract_docx(data, limits)
    else:
        document = _extract_plain_text(data, file_format, limits)
    document = _cleaned(document)
    _check_char_count(document.char_count, limits)
    if not any(page.blocks for page in document.pages):
        hint = " (a scanned PDF? text recognition is not supported)" if file_format == "pdf" else ""
        raise DocumentRejected(f"no extractable text{hint}")
    return document


def _cleaned(document: ExtractedDocument) -> ExtractedDocument:
    pages = []
    for page in document.pages:
        blocks = [block.model_copy(update={"text": clean_text(block.text).strip()}) for block in page.blocks]
        pages.append(page.model_copy(update={"blocks": [block for block in blocks if block.text]}))
    return document.model_copy(update={"pages": pages})


def _check_char_count(count: int, limits: ExtractionLimits, where: str = "") -> None:
    if count > limits.max_chars:
        raise DocumentRejected(
            f"too much text: more than {limits.max_chars:,} characters{where}, the limit per document;"
            " split it into smaller documents"
        )


def detect_format(filename: str) -> Format:
    extension = PurePath(filename).suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        allowed = ", ".join(SUPPORTED_EXTENSIONS)
        shown = extension or "no extension"
        raise DocumentRejected(f"unsupported file type '{shown}': allowed are {allowed}")
    return SUPPORTED_EXTENSIONS[extension]


def check_content_matches(data: bytes, file_format: Format) -> None:
    """Reject files whose bytes are not what their extension claims."""
    is_pdf = _PDF_MAGIC in data[:1024]  # the PDF spec allows junk before the header
    is_zip = data.startswith(_ZIP_MAGIC)
    if file_format == "pdf" and not is_pdf:
        raise DocumentRejected("the file is named .pdf but is not a PDF (no %PDF header)")
    if file_format == "docx" and not is_zip:
        raise DocumentRejected("the file is named .docx but is not a Word document (not a zip archive)")
    if file_format in ("txt", "md") and (is_pdf or is_zip):
        actual = "a PDF" if is_pdf else "a zip archive (DOCX/XLSX?)"
        raise DocumentRejected(f"the file is named .{file_format} but is really {actual}")


# ---------------------------------------------------------------------------------------------- PDF


def _extract_pdf(data: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    from pypdf import PdfReader  # imported on use: keeps the module cheap to import in Lambda
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        _open_if_encrypted(reader)
        page_count = len(reader.pages)
    except DocumentRejected:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as error:
        raise DocumentRejected(f"corrupt PDF: {_short(error)}") from error
    if page_count > limits.max_pages:
        raise DocumentRejected(f"too many pages: {page_count}, the limit is {limits.max_pages}")
    pages: list[Page] = []
    started = time.monotonic()
    chars = 0
    for number, pdf_page in enumerate(reader.pages, start=1):
        try:
            _check_page_content_size(pdf_page, number, limits)
            text = _page_text_within_deadline(pdf_page, number, started, limits)
        except DocumentRejected:
            raise
        except Exception as error:  # pypdf raises many types on broken content streams
            raise DocumentRejected(f"corrupt PDF: page {number} cannot be read ({_short(error)})") from error
        chars += len(text)
        _check_char_count(chars, limits, f" (reached on page {number} of {page_count})")
        pages.append(Page(number=number, blocks=_paragraph_blocks(text)))
    return ExtractedDocument(format="pdf", pages=pages)


class _PageDeadline(Exception):
    pass


def _check_page_content_size(pdf_page: Any, number: int, limits: ExtractionLimits) -> None:
    contents = pdf_page.get_contents()
    size = len(contents.get_data()) if contents is not None else 0
    if size > limits.max_page_content_bytes:
        raise DocumentRejected(
            f"page {number} is too complex to read: its content is {size:,} bytes once decompressed,"
            f" the limit is {limits.max_page_content_bytes:,}"
        )


def _page_text_within_deadline(pdf_page: Any, number: int, started: float, limits: ExtractionLimits) -> str:
    """pypdf calls the visitor for every content-stream operator, which bounds the time of text layout."""
    page_deadline = time.monotonic() + limits.max_page_seconds
    document_deadline = started + limits.max_seconds
    calls = 0

    def check(*_: Any) -> None:
        nonlocal calls
        calls += 1
        if calls % 256 == 0 and time.monotonic() > min(page_deadline, document_deadline):
            raise _PageDeadline

    try:
        return str(pdf_page.extract_text(visitor_operand_before=check) or "")
    except _PageDeadline:
        if time.monotonic() > document_deadline:
            raise DocumentRejected(
                f"reading the text took longer than {limits.max_seconds:g} s (stopped on page {number});"
                " split the document or export it again as a simpler PDF"
            ) from None
        raise DocumentRejected(
            f"page {number} took longer than {limits.max_page_seconds:g} s to read;"
            " the PDF is too complex (export it again as a simpler PDF)"
        ) from None


def _open_if_encrypted(reader: PdfReader) -> None:
    from pypdf.errors import DependencyError, FileNotDecryptedError

    if not reader.is_encrypted:
        return
    # Many PDFs are "encrypted" only with owner restrictions and an empty user password: readable.
    try:
        opened = reader.decrypt("")
    except (DependencyError, FileNotDecryptedError, NotImplementedError) as error:
        raise DocumentRejected("encrypted PDF: remove the password protection and upload again") from error
    if not opened:
        raise DocumentRejected("encrypted PDF: remove the password protection and upload again")


def _paragraph_blocks(text: str) -> list[Block]:
    """Paragraphs are separated by blank lines; single line breaks are kept inside a paragraph."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks = []
    for paragraph in paragraphs:
        lines = [line.strip() for line in paragraph.split("\n")]
        cleaned = "\n".join(line for line in lines if line)
        if cleaned:
            blocks.append(Block(kind="paragraph", text=cleaned))
    return blocks


# --------------------------------------------------------------------------------------------- DOCX


def _extract_docx(data: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    check_zip_is_safe(data, limits)
    import docx  # imported on use: lxml and python-docx cost ~100 ms at import
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        word = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx surfaces KeyError, XMLSyntaxError, ValueError...
        raise DocumentRejected(f"corrupt Word document: {_short(error)}") from error
    blocks: list[Block] = []
    started, chars = time.monotonic(), 0
    for item in word.iter_inner_content():
        before = len(blocks)
        if isinstance(item, Paragraph):
            block = _docx_paragraph_block(item)
            if block is not None:
                blocks.append(block)
        elif isinstance(item, Table):
            table_text = _docx_table_text(item)
            if table_text:
                blocks.append(Block(kind="paragraph", text=table_text))
        chars += sum(len(block.text) for block in blocks[before:])
        _check_char_count(chars, limits)
        if time.monotonic() - started > limits.max_seconds:
            raise DocumentRejected(f"reading the text took longer than {limits.max_seconds:g} s; split the document")
    return ExtractedDocument(format="docx", pages=[Page(number=None, blocks=blocks)])


def check_zip_is_safe(data: bytes, limits: ExtractionLimits) -> None:
    """Judge the archive from its central directory only, before anything is decompressed.

    zipfile stops inflating a member at the size its directory declares, so bounding the declared
    sizes bounds the memory python-docx can use even when the directory lies.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise DocumentRejected(f"corrupt Word document: not a valid zip archive ({_short(error)})") from error
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            raise DocumentRejected(f"rejected as a zip bomb: {len(entries):,} entries in the archive")
        total = sum(entry.file_size for entry in entries)
        if total > limits.max_uncompressed_bytes:
            raise DocumentRejected(
                f"rejected as a zip bomb: it would expand to {total:,} bytes, "
                f"the limit is {limits.max_uncompressed_bytes:,}"
            )
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > _MIB and ratio > limits.max_compression_ratio:
                raise DocumentRejected(f"rejected as a zip bomb: '{entry.filename}' expands {ratio:,.0f} times")
        if "word/document.xml" not in archive.namelist():
            raise DocumentRejected("the file is named .docx but is not a Word document (no word/document.xml)")


def _docx_paragraph_block(paragraph: Paragraph) -> Block | None:
    text = paragraph.text.strip()
    if not text:
        return None
    style_name = paragraph.style.name if paragraph.style is not None else ""
    level = _heading_level(style_name or "")
    if level:
        return Block(kind="heading", text=text, level=level)
    return Block(kind="paragraph", text=text)


def _heading_level(style_name: str) -> int:
    if style_name == "Title":
        return 1
    match = re.fullmatch(r"Heading (\d)", style_name)
    return int(match.group(1)) if match else 0


def _docx_table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells = [cell.text.strip() for cell in row.cells]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


# ------------------------------------------------------------------------------------- TXT, Markdown


def _extract_plain_text(data: bytes, file_format: Format, limits: ExtractionLimits) -> ExtractedDocument:
    text = decode_text(data, file_format)
    _check_char_count(len(text), limits)
    blocks = _markdown_blocks(text) if file_format == "md" else _paragraph_blocks(text)
    return ExtractedDocument(format=file_format, pages=[Page(number=None, blocks=blocks)])


def decode_text(data: bytes, file_format: Format) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise DocumentRejected(f"the .{file_format} file is not valid UTF-16 text") from error
    if b"\x00" in data[:8192]:
        raise DocumentRejected(f"the file is named .{file_format} but contains binary data")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet and Notepad exports on Windows are often cp1252; better than refusing them.
        return data.decode("cp1252", errors="replace")


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")


def _markdown_blocks(text: str) -> list[Block]:
    """ATX headings (`# Title`) become heading blocks; `#` lines inside code fences do not."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    in_fence = False

    def flush() -> None:
        joined = "\n".join(paragraph).strip()
        if joined:
            blocks.append(Block(kind="paragraph", text=joined))
        paragraph.clear()

    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw_line.rstrip()
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            paragraph.append(line)
            continue
        heading = None if in_fence else _MD_HEADING.match(line)
        if heading and heading.group(2):
            flush()
            blocks.append(Block(kind="heading", text=heading.group(2), level=len(heading.group(1))))
        elif not line.strip() and not in_fence:
            flush()
        else:
            paragraph.append(line)
    flush()
    return blocks


def _short(error: BaseException) -> str:
    message = str(error).strip() or type(error).__name__
    return message if len(message) <= 200 else message[:197] + "..."
