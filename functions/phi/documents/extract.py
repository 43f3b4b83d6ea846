"""Text extraction from uploaded files (PDF, DOCX, TXT, Markdown) with strict input checks.

Every way an upload can be unusable ends in `DocumentRejected` with a reason a person can act on;
the checks that guard memory (size, zip bomb) run before any parser sees the bytes, and the work done
while reading (characters, paragraphs, time) is counted as it grows, so a small file that expands into
a huge one is stopped part way rather than after it has filled the memory.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from phi.documents.models import Block, DocumentRejected, ExtractedDocument, OutOfTime, Page

if TYPE_CHECKING:
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
    # Any PDF stream (fonts' ToUnicode maps, images, object streams...), once decompressed: pypdf's own
    # limits are 75 MB, and parsing that much takes ~25x its size in memory.
    max_stream_bytes: int = 8 * _MIB
    # pypdf builds every font a page names (its ToUnicode map parsed again for each name, ~10 bytes of memory
    # and ~0.2 µs per byte) before any text is laid out, where no page deadline reaches: bounded up front.
    max_page_fonts: int = 256
    max_page_font_map_bytes: int = 8 * _MIB
    # A font's ToUnicode map turns one character code into a few characters at most (a ligature: "ffi"); a map that
    # turns one into hundreds makes a few KB of content stream into gigabytes of text, built whole before any
    # limit on characters can see it. Refused above this many per code, and when the page's content could expand
    # (its bytes times the longest entry) past max_page_expanded_chars.
    max_font_map_entry_chars: int = 32
    max_page_expanded_chars: int = 32_000_000
    # A DOCX part is read as a stream (never as a whole tree), so its size bounds the time, not the memory.
    max_docx_part_bytes: int = 64 * _MIB
    max_table_depth: int = 16
    # Many tiny paragraphs cost memory and chunking time out of proportion to their characters.
    max_blocks: int = 200_000
    max_page_seconds: float = 20.0
    max_seconds: float = 120.0
    # time.monotonic() by which the caller needs control back (the Lambda's own time limit, less a margin).
    # Reaching it is not the document's fault: `OutOfTime` is raised, and the document is retried.
    must_finish_by: float | None = None

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
# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) can make a passage display
# differently from what it says (a prompt hidden in reversed text), and search does not need them.
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
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
    budget = _Budget(limits)
    if file_format == "pdf":
        document = _extract_pdf(data, limits, budget)
    elif file_format == "docx":
        document = _extract_docx(data, limits, budget)
    else:
        document = _extract_plain_text(data, file_format, limits, budget)
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
        raise _too_much_text(limits, where)


def _too_much_text(limits: ExtractionLimits, where: str) -> DocumentRejected:
    return DocumentRejected(
        f"too much text: more than {limits.max_chars:,} characters{where}, the limit per document;"
        " split it into smaller documents"
    )


class _Budget:
    """The work done on one document so far, checked as it grows: characters, blocks and time."""

    _CLOCK_EVERY = 256  # reading the clock on every XML event or line would cost more than the work

    def __init__(self, limits: ExtractionLimits) -> None:
        self.limits = limits
        self.chars = 0
        self.blocks = 0
        self._calls = 0
        self.deadline = time.monotonic() + limits.max_seconds

    def add_chars(self, count: int, where: str = "") -> None:
        self.chars += count
        _check_char_count(self.chars, self.limits, where)

    def add_block(self) -> None:
        self.blocks += 1
        if self.blocks > self.limits.max_blocks:
            raise DocumentRejected(
                f"too many paragraphs: more than {self.limits.max_blocks:,}, the limit per document;"
                " split it into smaller documents"
            )

    def tick(self) -> None:
        self._calls += 1
        if self._calls % self._CLOCK_EVERY == 0:
            self.check_time()

    def check_time(self, where: str = "") -> None:
        now = time.monotonic()
        if self.limits.must_finish_by is not None and now > self.limits.must_finish_by:
            raise OutOfTime(f"no time left to read this document in this run{where}")
        if now > self.deadline:
            raise DocumentRejected(
                f"reading the text took longer than {self.limits.max_seconds:g} s{where}; split the document"
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
    is_zip = data.startswith(_ZIP_MAGIC)
    if file_format == "pdf" and _PDF_MAGIC not in data[:1024]:  # the PDF spec allows junk before the header
        raise DocumentRejected("the file is named .pdf but is not a PDF (no %PDF header)")
    if file_format == "docx" and not is_zip:
        raise DocumentRejected("the file is named .docx but is not a Word document (not a zip archive)")
    # A text file is judged by its first bytes only: notes that mention "%PDF-" are still notes.
    is_pdf = data.startswith(_PDF_MAGIC)
    if file_format in ("txt", "md") and (is_pdf or is_zip):
        actual = "a PDF" if is_pdf else "a zip archive (DOCX/XLSX?)"
        raise DocumentRejected(f"the file is named .{file_format} but is really {actual}")


# ---------------------------------------------------------------------------------------------- PDF


def _extract_pdf(data: bytes, limits: ExtractionLimits, budget: _Budget) -> ExtractedDocument:
    from pypdf import apply_configuration  # imported on use: keeps the module cheap to import in Lambda

    # pypdf checks these while it decompresses, for every stream it reads (fonts and their ToUnicode maps,
    # object streams...), not only the page contents measured below.
    stream_limit = limits.max_stream_bytes
    with apply_configuration(
        maximum_declared_stream_length=stream_limit,
        array_based_stream_maximum_output_length=stream_limit,
        jbig2_maximum_output_length=stream_limit,
        lzw_maximum_output_length=stream_limit,
        run_length_maximum_output_length=stream_limit,
        zlib_maximum_output_length=stream_limit,
        brotli_maximum_output_length=stream_limit,
        image_maximum_buffer_size=stream_limit,
        stream_decoding_work_maximum_length=4 * stream_limit,
        xmp_maximum_input_length=min(stream_limit, 5_000_000),
        # pypdf flattens the whole page tree before the page count can be checked: 100,000 pages (its own limit)
        # cost ~430 MB of the ingest function's 1 GB. Well past the page limit is refused before that.
        page_tree_maximum_entries=_page_tree_entries(limits),
    ):
        return _read_pdf(data, limits, budget)


def _page_tree_entries(limits: ExtractionLimits) -> int:
    """Page-tree nodes pypdf may visit: every page and the nodes above them, with room for generous trees."""
    return 2 * limits.max_pages + 1_000


def _read_pdf(data: bytes, limits: ExtractionLimits, budget: _Budget) -> ExtractedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        _open_if_encrypted(reader)
        page_count = len(reader.pages)
    except DocumentRejected:
        raise
    except NotImplementedError as error:  # e.g. a security handler other than the standard one
        raise DocumentRejected(f"this kind of PDF is not supported: {_short(error)}") from error
    except RecursionError as error:
        raise DocumentRejected("corrupt PDF: its structure is nested too deeply to read") from error
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as error:
        if "page tree entr" in str(error):  # pypdf's LimitReachedError on _page_tree_entries
            raise DocumentRejected(
                f"too many pages: its page tree has more than {_page_tree_entries(limits):,} entries, and the limit "
                f"is {limits.max_pages} pages"
            ) from error
        raise DocumentRejected(_pdf_error_reason(error)) from error
    if page_count > limits.max_pages:
        raise DocumentRejected(f"too many pages: {page_count}, the limit is {limits.max_pages}")
    pages: list[Page] = []
    font_maps: dict[Any, tuple[int, int]] = {}  # a font's map measured once for the document, not once a page
    for number in range(1, page_count + 1):
        budget.check_time(f" (stopped on page {number})")
        try:
            pdf_page = reader.pages[number - 1]
            content_bytes = _check_page_content_size(pdf_page, number, limits)
            resources = _resolved(pdf_page.get("/Resources"))
            longest_entry = _check_page_fonts(resources, number, limits, font_maps)
            _check_expansion(content_bytes, longest_entry, number, limits)
            _check_form_xobjects(resources, content_bytes, number, budget, font_maps)
            reached = f" (reached on page {number} of {page_count})"
            text = _page_text_within_deadline(pdf_page, number, budget, limits, reached)
        except (DocumentRejected, OutOfTime):
            raise
        except RecursionError as error:
            raise DocumentRejected(f"corrupt PDF: page {number} is nested too deeply to read") from error
        except Exception as error:  # pypdf raises many types on broken content streams
            raise DocumentRejected(_pdf_error_reason(error, number)) from error
        budget.add_chars(len(text), reached)
        pages.append(Page(number=number, blocks=_paragraph_blocks(text, budget)))
        # pypdf keeps every object it has read, decompressed streams included, for the reader's life: a 2 MB file
        # of 300 pages of 7 MiB blank content each held 1.36 GB by page 186. What one page read is let go.
        reader.resolved_objects.clear()
    return ExtractedDocument(format="pdf", pages=pages)


def _pdf_error_reason(error: Exception, page: int | None = None) -> str:
    from pypdf.errors import LimitReachedError

    where = f"page {page}" if page is not None else "the file"
    if isinstance(error, LimitReachedError):  # not corrupt: too big or too complex for the reader's safety limits
        return f"the PDF is too complex to read: {where} exceeds a safety limit ({_short(error)})"
    if page is None:
        return f"corrupt PDF: {_short(error)}"
    return f"corrupt PDF: page {page} cannot be read ({_short(error)})"


class _StopPage(BaseException):
    """Not an Exception: pypdf catches every Exception raised while it reads a Form XObject, logs it and goes on
    with the next one, so a page drawing a slow form 5,000 times ran for 25 minutes past its deadline."""


class _PageDeadline(_StopPage):
    pass


class _PageTooMuchText(_StopPage):
    pass


def _check_page_content_size(pdf_page: Any, number: int, limits: ExtractionLimits) -> int:
    contents = pdf_page.get_contents()
    size = len(contents.get_data()) if contents is not None else 0
    if size > limits.max_page_content_bytes:
        raise DocumentRejected(
            f"page {number} is too complex to read: its content is {size:,} bytes once decompressed,"
            f" the limit is {limits.max_page_content_bytes:,}"
        )
    return size


# A hex string of a CMap (<0041>, <D83D DE00>): the source codes and the UTF-16BE text they map to
_CMAP_HEX = re.compile(rb"<([0-9A-Fa-f\s]+)>")


def _longest_map_entry(cmap: bytes) -> int:
    """An upper bound on the characters a ToUnicode map gives one code: its longest hex string, in UTF-16 units."""
    longest = 0
    for match in _CMAP_HEX.finditer(cmap):
        digits = len(match.group(1)) - sum(match.group(1).count(blank) for blank in (b" ", b"\n", b"\r", b"\t"))
        longest = max(longest, (digits + 3) // 4)
    return longest


def _check_expansion(content_bytes: int, longest_entry: int, number: int, limits: ExtractionLimits) -> None:
    if content_bytes * longest_entry > limits.max_page_expanded_chars:
        raise DocumentRejected(
            f"page {number} is too complex to read: its fonts map one character code to up to "
            f"{longest_entry} characters, so its {content_bytes:,} bytes of content could become more than "
            f"{limits.max_page_expanded_chars:,} characters"
        )


def _check_form_xobjects(
    resources: Any, content_bytes: int, number: int, budget: _Budget, font_maps: dict[Any, tuple[int, int]]
) -> None:
    """The Form XObjects a page can draw (and those they can draw), checked as its own content is: they are content
    streams with fonts of their own that pypdf reads as it meets them. Their decompressed bytes count toward the
    page's content limit (300 forms of 7 MiB on one page held 1.8 GB), and each one's fonts and expansion are checked
    (a form's own font map turning a code into 256 characters made a 4 KB file take 1.5 GB)."""
    limits = budget.limits
    total = content_bytes
    seen: set[Any] = set()
    pending = [resources]
    while pending:
        xobjects: Any = _resolved(pending.pop(), "/XObject")
        if not hasattr(xobjects, "values"):
            continue
        for reference in xobjects.values():
            form = _resolved(reference)
            idnum = getattr(reference, "idnum", None)
            key = idnum if idnum else id(form)
            if key in seen or _resolved(form, "/Subtype") != "/Form" or not hasattr(form, "get_data"):
                continue
            seen.add(key)
            budget.check_time(f" (stopped on page {number})")  # a page can name 100,000s of (empty) forms
            # pypdf stops a stream at max_stream_bytes while it decompresses, so one read is bounded too
            size = len(form.get_data())
            total += size
            if total > limits.max_page_content_bytes:
                raise DocumentRejected(
                    f"page {number} is too complex to read: its content and the forms it draws are more than"
                    f" {limits.max_page_content_bytes:,} bytes once decompressed"
                )
            form_resources = _resolved(form, "/Resources")
            _check_expansion(size, _check_page_fonts(form_resources, number, limits, font_maps), number, limits)
            pending.append(form_resources)


def _check_page_fonts(
    resources: Any, number: int, limits: ExtractionLimits, measured: dict[Any, tuple[int, int]]
) -> int:
    """The fonts of a page's (or a form's) resources, and their ToUnicode maps summed over every name that uses one
    (a map is read once per name), within the limits; each font's map is measured once into `measured` (font → its
    map's bytes, its longest entry), which the document's pages share. Returns the most characters one code of the
    fonts can become (1 without maps)."""
    fonts: Any = _resolved(resources, "/Font")
    if not hasattr(fonts, "items"):
        return 1
    if len(fonts) > limits.max_page_fonts:
        raise DocumentRejected(
            f"page {number} is too complex to read: it names {len(fonts):,} fonts, the limit is {limits.max_page_fonts}"
        )
    total, longest = 0, 1
    for reference in fonts.values():
        # an indirect font is one object of the document; a font written inline in a page is that page's alone
        idnum = getattr(reference, "idnum", None)
        key = ("object", idnum) if idnum else ("inline", number, id(reference))
        if key not in measured:
            stream: Any = _resolved(_resolved(reference), "/ToUnicode")
            data = stream.get_data() if hasattr(stream, "get_data") else b""
            measured[key] = (len(data), _longest_map_entry(data) if len(data) <= limits.max_page_font_map_bytes else 0)
        size, entry = measured[key]
        total += size
        if total > limits.max_page_font_map_bytes:
            raise DocumentRejected(
                f"page {number} is too complex to read: its fonts' character maps come to more than "
                f"{limits.max_page_font_map_bytes:,} bytes"
            )
        if entry > limits.max_font_map_entry_chars:
            raise DocumentRejected(
                f"page {number} cannot be read safely: a font's character map turns one code into {entry:,} "
                f"characters (at most {limits.max_font_map_entry_chars} are read)"
            )
        longest = max(longest, entry)
    return longest


def _resolved(value: Any, key: str | None = None) -> Any:
    """A PDF object (or its entry `key`, when it is a dictionary), indirect references followed; None if absent."""
    if value is None:
        return None
    value = value.get_object() if hasattr(value, "get_object") else value
    if key is None:
        return value
    entry: Any = value.get(key) if hasattr(value, "get") else None
    return entry.get_object() if hasattr(entry, "get_object") else entry


def _page_text_within_deadline(
    pdf_page: Any, number: int, budget: _Budget, limits: ExtractionLimits, where: str
) -> str:
    """pypdf calls the visitor for every content-stream operator, which bounds the time of text layout, and reports
    each piece of text as it is laid out, which bounds the page's text to what the document has room left for."""
    page_deadline = time.monotonic() + limits.max_page_seconds
    deadline = min(page_deadline, budget.deadline, limits.must_finish_by or budget.deadline)
    room = limits.max_chars - budget.chars
    produced = 0

    def check(*_: Any) -> None:
        # Every operator: one can take seconds (a form drawing a 7 MiB string, drawn 1,000 times by the page)
        if time.monotonic() > deadline:
            raise _PageDeadline

    def count(text: Any, *_: Any) -> None:
        # A form drawn 5,000 times repeats its text 5,000 times: 1 MiB of it had built 800 MB before the deadline
        nonlocal produced
        produced += len(text)
        if produced > room:
            raise _PageTooMuchText

    try:
        return str(pdf_page.extract_text(visitor_operand_before=check, visitor_text=count) or "")
    except _PageTooMuchText:
        raise _too_much_text(limits, where) from None
    except _PageDeadline:
        now = time.monotonic()
        if limits.must_finish_by is not None and now > limits.must_finish_by:
            raise OutOfTime(f"no time left to read this document in this run (stopped on page {number})") from None
        if now > budget.deadline:
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


def _paragraph_blocks(text: str, budget: _Budget) -> list[Block]:
    """Paragraphs are separated by blank lines; single line breaks are kept inside a paragraph."""
    blocks = []
    for paragraph in _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        budget.tick()
        lines = [line.strip() for line in paragraph.split("\n")]
        cleaned = "\n".join(line for line in lines if line)
        if cleaned:
            budget.add_block()
            blocks.append(Block(kind="paragraph", text=cleaned))
    return blocks


# Linear: a match can only start at a line break, and fails at the first character that is not whitespace.
_BLANK_LINE = re.compile(r"\n\s*\n")


# --------------------------------------------------------------------------------------------- DOCX


def _extract_docx(data: bytes, limits: ExtractionLimits, budget: _Budget) -> ExtractedDocument:
    """The body's text in document order, read from the XML as a stream.

    python-docx is not used to read: it builds the whole XML tree (~18 bytes of memory per byte of XML),
    repeats a cell once per grid column it spans (`gridSpan` of 50,000,000: 50M copies), follows vertically
    merged cells recursively, and reads neither nested tables nor content controls.
    """
    check_zip_is_safe(data, limits)
    from lxml import etree  # imported on use: lxml costs tens of ms at import

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_main_part_is_a_document(archive, limits, budget)
            styles = _docx_style_names(archive, limits, budget)
            reader = _DocxBodyReader(styles, limits, budget)
            with _open_part(archive, _DOCX_MAIN_PART, limits) as stream:
                for event, element in _iterparse(stream):
                    reader.handle(event, element)
    except etree.XMLSyntaxError as error:
        raise DocumentRejected(_xml_error_reason(error)) from error
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        raise DocumentRejected(f"corrupt Word document: {_short(error)}") from error
    except (RuntimeError, NotImplementedError) as error:  # zipfile: an encrypted or unreadable entry it was not told of
        raise DocumentRejected(f"unreadable Word document: {_short(error)}") from error
    return ExtractedDocument(format="docx", pages=[Page(number=None, blocks=reader.blocks)])


_DOCX_MAIN_PART = "word/document.xml"
_WORD_NAMESPACES = frozenset(
    {
        "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "http://purl.oclc.org/ooxml/wordprocessingml/main",  # "strict" Office Open XML
    }
)
_MARKUP_COMPATIBILITY = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_WORD_MAIN_CONTENT_TYPES = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
)


# Attributes of one element: Word writes a few dozen at most. libxml2 only caps a start tag at 10 MB, which is
# ~800,000 attributes and ~200 MB of memory for one element that stays open (a few nested: gigabytes).
MAX_XML_ATTRIBUTES = 512


def _iterparse(stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    from lxml import etree

    # No entity expansion (billion laughs), no DTD, no network; libxml2's default depth and node-size limits stay.
    events = etree.iterparse(
        stream,
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    for event, element in events:
        if event == "start" and len(element.attrib) > MAX_XML_ATTRIBUTES:
            raise DocumentRejected(
                f"the Word document has an element with {len(element.attrib):,} attributes (the limit is "
                f"{MAX_XML_ATTRIBUTES}); it is not a document Word wrote"
            )
        yield event, element


def _open_part(archive: zipfile.ZipFile, name: str, limits: ExtractionLimits) -> IO[bytes]:
    size = archive.getinfo(name).file_size
    if size > limits.max_docx_part_bytes:
        raise DocumentRejected(
            f"the Word document is too large to read: '{name}' is {size:,} bytes uncompressed,"
            f" the limit is {limits.max_docx_part_bytes:,}; split the document"
        )
    return archive.open(name)


def _xml_error_reason(error: Exception) -> str:
    if "Excessive depth" in str(error):  # libxml2 stops at 256 levels of elements
        return "the Word document is nested too deeply to read (tables nested too deeply?)"
    return f"corrupt Word document: {_short(error)}"


def _local_name(element: Any, namespaces: frozenset[str]) -> str | None:
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    namespace, _, local = tag[1:].partition("}")
    return local if namespace in namespaces else None


def _release(element: Any) -> None:
    """Drop what has been read, so the tree never holds more than the elements still open."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _check_main_part_is_a_document(archive: zipfile.ZipFile, limits: ExtractionLimits, budget: _Budget) -> None:
    """A macro-enabled document (.docm) or another Office file renamed .docx is refused with what it is."""
    if "[Content_Types].xml" not in archive.namelist():
        return  # lenient, as Word is: the parts are still read
    content_type = ""
    with _open_part(archive, "[Content_Types].xml", limits) as stream:
        for event, element in _iterparse(stream):
            budget.tick()
            if event != "end":
                continue
            if element.tag == f"{{{_CONTENT_TYPES}}}Override" and (
                element.get("PartName", "").lower() == f"/{_DOCX_MAIN_PART}"
            ):
                content_type = element.get("ContentType", "")
            # Every element, whatever its name: 16 million unknown ones had held 2 GB until the part ended.
            _release(element)
    if "macroenabled" in content_type.lower():
        raise DocumentRejected("macro-enabled Word files are not supported; save it as .docx (without macros)")
    if content_type and content_type not in _WORD_MAIN_CONTENT_TYPES:
        raise DocumentRejected(f"the file is named .docx but is not a Word document (its content is '{content_type}')")


def _docx_style_names(archive: zipfile.ZipFile, limits: ExtractionLimits, budget: _Budget) -> dict[str, str]:
    """Paragraph style id → name ("Heading1" → "heading 1"): headings are known by their style's name."""
    names: dict[str, str] = {}
    if "word/styles.xml" not in archive.namelist():
        return names
    style_id = ""
    with _open_part(archive, "word/styles.xml", limits) as stream:
        for event, element in _iterparse(stream):
            budget.tick()
            name = _local_name(element, _WORD_NAMESPACES)
            if event == "start" and name == "style":
                style_id = element.get(_word_attribute(element, "styleId"), "")
            elif event == "start" and name == "name" and style_id:
                names[style_id] = element.get(_word_attribute(element, "val"), "")
            elif event == "end":
                _release(element)
    return names


def _word_attribute(element: Any, name: str) -> str:
    namespace = element.tag[1:].partition("}")[0]
    return f"{{{namespace}}}{name}"


# Text that is not part of the document as it reads now: deleted and moved-away revisions; and the fallback copy
# Word stores of content it also stores in a newer form (a text box's text would be read twice).
_SKIPPED_WORD_ELEMENTS = frozenset({"del", "moveFrom"})


class _DocxBodyReader:
    """Turns the start/end events of word/document.xml into heading and paragraph blocks in reading order.

    Every w:t outside a skipped element is read, wherever it is: in runs nested in hyperlinks, smart tags,
    custom XML, content controls, insertions, fields, text boxes, and table cells at any depth. A table becomes
    one paragraph block, a row per line and " | " between cells; a nested table's rows go into its cell. Merged
    and spanning cells are read once, as they are stored.
    """

    def __init__(self, styles: dict[str, str], limits: ExtractionLimits, budget: _Budget) -> None:
        self.styles = styles
        self.limits = limits
        self.budget = budget
        self.blocks: list[Block] = []
        self._paragraphs: list[list[str]] = []  # open paragraphs (a text box's paragraphs open inside another)
        self._paragraph_styles: list[str] = []
        self._tables: list[list[str]] = []  # open tables' row lines
        self._rows: list[list[str]] = []  # open rows' cell texts
        self._cells: list[list[str]] = []  # open cells' paragraphs
        self._skipping = 0

    def handle(self, event: str, element: Any) -> None:
        self.budget.tick()
        name = _local_name(element, _WORD_NAMESPACES)
        skipped = name in _SKIPPED_WORD_ELEMENTS or (
            name is None and element.tag == f"{{{_MARKUP_COMPATIBILITY}}}Fallback"
        )
        if event == "start":
            if skipped:
                self._skipping += 1
            elif not self._skipping and name is not None:
                self._start(name, element)
            return
        if skipped:
            self._skipping -= 1
        elif not self._skipping and name is not None:
            self._end(name, element)
        _release(element)

    def _start(self, name: str, element: Any) -> None:
        if name == "p":
            self._paragraphs.append([])
            self._paragraph_styles.append("")
        elif name == "pStyle" and self._paragraph_styles:
            self._paragraph_styles[-1] = element.get(_word_attribute(element, "val"), "")
        elif name == "tab" and self._paragraphs:
            self._paragraphs[-1].append("\t")
        elif name in ("br", "cr") and self._paragraphs:
            self._paragraphs[-1].append("\n")
        elif name == "tbl":
            if len(self._tables) >= self.limits.max_table_depth:
                raise DocumentRejected(
                    f"tables nested too deeply: more than {self.limits.max_table_depth} tables inside each other"
                )
            self._tables.append([])
        elif name == "tr" and self._tables:
            self._rows.append([])
        elif name == "tc" and self._rows:
            self._cells.append([])
            self.budget.add_chars(len(" | "))  # empty cells cost memory too

    def _end(self, name: str, element: Any) -> None:
        if name == "t" and self._paragraphs:
            text = element.text or ""
            self.budget.add_chars(len(text))
            self._paragraphs[-1].append(text)
        elif name == "p" and self._paragraphs:
            text = "".join(self._paragraphs.pop()).strip()
            style = self._paragraph_styles.pop()
            if text:
                self._add_paragraph(text, style)
        elif name == "tc" and self._cells:
            self._rows[-1].append("\n".join(self._cells.pop()).strip())
        elif name == "tr" and self._rows:
            cells = self._rows.pop()
            if any(cells):
                self._tables[-1].append(" | ".join(cells))
        elif name == "tbl" and self._tables:
            text = "\n".join(self._tables.pop())
            if not text:
                return
            if self._cells:
                self._cells[-1].append(text)
            else:
                self._add_block(Block(kind="paragraph", text=text))

    def _add_paragraph(self, text: str, style_id: str) -> None:
        if self._cells:
            self._cells[-1].append(text)
            return
        level = _heading_level(self.styles.get(style_id, ""))
        self._add_block(Block(kind="heading", text=text, level=level) if level else Block(kind="paragraph", text=text))

    def _add_block(self, block: Block) -> None:
        self.budget.add_block()
        self.blocks.append(block)


_ZIP_ENCRYPTED = 0x1  # general purpose flag bit 0
_READABLE_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})


def check_zip_is_safe(data: bytes, limits: ExtractionLimits) -> None:
    """Judge the archive from its central directory only, before anything is decompressed.

    zipfile stops inflating a member at the size its directory declares, so bounding the declared
    sizes bounds what the DOCX reader can be given even when the directory lies.
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
            if entry.flag_bits & _ZIP_ENCRYPTED:
                raise DocumentRejected(
                    f"the Word document is password-protected ('{entry.filename}' is encrypted); save it without a "
                    "password and upload it again"
                )
            if entry.compress_type not in _READABLE_ZIP_METHODS:
                raise DocumentRejected(
                    f"the Word document uses a zip compression method this reader does not support "
                    f"('{entry.filename}': method {entry.compress_type}); save it again from Word"
                )
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > _MIB and ratio > limits.max_compression_ratio:
                raise DocumentRejected(f"rejected as a zip bomb: '{entry.filename}' expands {ratio:,.0f} times")
        if "word/document.xml" not in archive.namelist():
            raise DocumentRejected("the file is named .docx but is not a Word document (no word/document.xml)")


def _heading_level(style_name: str) -> int:
    name = style_name.strip().lower()  # styles.xml names built-in styles in lower case ("heading 1")
    if name == "title":
        return 1
    match = re.fullmatch(r"heading ([1-9])", name)
    return int(match.group(1)) if match else 0


# ------------------------------------------------------------------------------------- TXT, Markdown


def _extract_plain_text(
    data: bytes, file_format: Format, limits: ExtractionLimits, budget: _Budget
) -> ExtractedDocument:
    text = decode_text(data, file_format)
    budget.add_chars(len(text))
    blocks = _markdown_blocks(text, budget) if file_format == "md" else _paragraph_blocks(text, budget)
    return ExtractedDocument(format=file_format, pages=[Page(number=None, blocks=blocks)])


# Share of characters that no text file has (controls other than tab and line breaks, bytes no encoding could
# decode) above which the file is binary data: random bytes read as cp1252 have ~12%, text almost none.
_MAX_UNREADABLE_SHARE = 0.05
_UNREADABLE = re.compile("[\x00-\x08\x0e-\x1f\x7f\x80-\x9f\ufffd]")


def decode_text(data: bytes, file_format: Format) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise DocumentRejected(f"the .{file_format} file is not valid UTF-16 text") from error
    elif b"\x00" in data:
        raise DocumentRejected(f"the file is named .{file_format} but contains binary data")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Spreadsheet and Notepad exports on Windows are often cp1252; better than refusing them.
            text = data.decode("cp1252", errors="replace")
    unreadable = sum(1 for _ in _UNREADABLE.finditer(text))
    if unreadable > _MAX_UNREADABLE_SHARE * len(text):
        raise DocumentRejected(
            f"the file is named .{file_format} but contains binary data"
            f" ({unreadable:,} of its {len(text):,} characters are not text)"
        )
    return text


# Linear patterns only: `^(#{1,6})\s+(.*?)\s*#*\s*$` backtracked catastrophically on a heading followed by many
# spaces (9 s for 2,000). The closing #s are removed in Python.
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")


def _markdown_heading_text(raw: str) -> str:
    """`## Title ##` → "Title"; a closing sequence of #s counts only after a space (`# C#` stays "C#")."""
    text = raw.strip()
    without_closing = text.rstrip("#")
    if without_closing != text and (not without_closing or without_closing[-1] in " \t"):
        text = without_closing.rstrip()
    return text


def _markdown_blocks(text: str, budget: _Budget) -> list[Block]:
    """ATX headings (`# Title`) become heading blocks; `#` lines inside code fences do not."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    in_fence = False

    def add(block: Block) -> None:
        budget.add_block()
        blocks.append(block)

    def flush() -> None:
        joined = "\n".join(paragraph).strip()
        if joined:
            add(Block(kind="paragraph", text=joined))
        paragraph.clear()

    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        budget.tick()
        line = raw_line.rstrip()
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            paragraph.append(line)
            continue
        heading = None if in_fence else _MD_HEADING.match(line)
        heading_text = _markdown_heading_text(heading.group(2)) if heading else ""
        if heading and heading_text:
            flush()
            add(Block(kind="heading", text=heading_text, level=len(heading.group(1))))
        elif not line.strip() and not in_fence:
            flush()
        else:
            paragraph.append(line)
    flush()
    return blocks


def _short(error: BaseException) -> str:
    message = str(error).strip() or type(error).__name__
    return message if len(message) <= 200 else message[:197] + "..."
