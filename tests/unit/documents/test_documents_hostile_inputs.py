"""Small uploads built to make extraction or chunking run out of memory or time, or to hide or lose text: each is
stopped with a reason, or read in bounded work. Limits are lowered here instead of making huge files."""

from __future__ import annotations

import base64
import io
import random
import subprocess
import sys
import time
import zipfile

import pytest

from phi.documents.chunking import MAX_HEADING_CHARS, chunk
from phi.documents.extract import ExtractionLimits, extract
from phi.documents.ingest import MAX_EMBEDDING_INPUT_CHARS, embedding_input
from phi.documents.models import Block, Chunk, DocumentRejected, ExtractedDocument, OutOfTime, Page
from tests.support.document_samples import (
    WORD_NAMESPACE,
    make_docx_with_body,
    make_pdf,
    make_raw_pdf,
    one_page_pdf_objects,
    pdf_stream,
    word_cell,
    word_paragraph,
)
from tests.support.memory import peaks_in_child


def rejection(data: bytes, filename: str, limits: ExtractionLimits | None = None) -> str:
    with pytest.raises(DocumentRejected) as caught:
        extract(data, filename, limits)
    return caught.value.reason


def texts(data: bytes, filename: str) -> list[tuple[str, str]]:
    return [(block.kind, block.text) for block in extract(data, filename).pages[0].blocks]


# ------------------------------------------------------------------------------------- Markdown, plain text


def test_a_markdown_heading_followed_by_many_spaces_is_read_in_linear_time() -> None:
    # The old heading pattern backtracked catastrophically: 2,000 spaces took 9 s, 5,000 never ended.
    # A child process, so that a regression fails on the (generous) timeout instead of hanging the suite.
    script = (
        "from phi.documents.extract import extract\n"
        "line = '# a' + ' ' * 50_000 + 'b'\n"
        "blocks = extract((line + '\\n\\n## Closing ##\\n' + line + '#').encode(), 'notes.md').pages[0].blocks\n"
        "print([(b.kind, b.level, b.text[:2], b.text[-2:]) for b in blocks])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)

    assert done.stdout.strip() == "[('heading', 1, 'a ', ' b'), ('heading', 2, 'Cl', 'ng'), ('heading', 1, 'a ', 'b#')]"


def test_markdown_closing_hashes_are_removed_only_after_a_space() -> None:
    data = b"# Use C#\n\nBody.\n\n## Returns ##   \n\nMore.\n\n### ###\n\nText."

    assert texts(data, "guide.md") == [
        ("heading", "Use C#"),
        ("paragraph", "Body."),
        ("heading", "Returns"),
        ("paragraph", "More."),
        ("paragraph", "### ###"),
        ("paragraph", "Text."),
    ]


@pytest.mark.parametrize("filename", ["notes.md", "notes.txt"])
def test_reading_text_and_markdown_has_the_same_time_limit_as_pdf(filename: str) -> None:
    data = "\n\n".join(f"Rule {n} applies." for n in range(2_000)).encode()

    assert rejection(data, filename, ExtractionLimits(max_seconds=0)).startswith(
        "reading the text took longer than 0 s"
    )


@pytest.mark.parametrize("filename", ["notes.md", "notes.txt"])
def test_a_text_of_too_many_paragraphs_is_rejected_while_it_is_read(filename: str) -> None:
    data = "\n\n".join(f"p{n}" for n in range(1_000)).encode()

    assert rejection(data, filename, ExtractionLimits(max_blocks=100)).startswith("too many paragraphs: more than 100")


def test_a_text_file_mentioning_the_pdf_magic_number_is_read() -> None:
    data = b"# Exporting\n\nChoose the %PDF- header option and save the file.\n"

    assert texts(data, "export.md")[1] == ("paragraph", "Choose the %PDF- header option and save the file.")


def test_binary_data_without_nul_bytes_is_not_read_as_text() -> None:
    generator = random.Random(7)
    data = b"hello\n" * 2000 + bytes(generator.randrange(1, 256) for _ in range(50_000))

    assert "contains binary data" in rejection(data, "dump.txt")


def test_a_nul_byte_after_the_first_8_kib_makes_the_file_binary() -> None:
    data = b"text " * 2000 + b"\x00" * 10 + b" more text\n"

    assert "contains binary data" in rejection(data, "log.txt")


def test_bidirectional_override_characters_are_removed_from_the_text() -> None:
    data = "Gloves \u202eon always\u202c and \u2066goggles\u2069.".encode()

    assert texts(data, "rules.txt") == [("paragraph", "Gloves on always and goggles.")]


# ---------------------------------------------------------------------------------------------------- DOCX


def test_a_cell_spanning_millions_of_grid_columns_is_read_once() -> None:
    # python-docx repeats a cell once per column it spans: 50M entries from a 34 KB file.
    body = word_paragraph("Intro") + "<w:tbl><w:tr>"
    body += word_cell(word_paragraph("Forklift"), '<w:gridSpan w:val="50000000"/>') + "</w:tr></w:tbl>"

    assert texts(make_docx_with_body(body), "span.docx") == [("paragraph", "Intro"), ("paragraph", "Forklift")]


def test_thousands_of_vertically_merged_cells_are_read_without_recursion() -> None:
    # python-docx resolves each merged cell by recursing upward: 1,500 rows is past Python's recursion limit.
    rows = "<w:tr>" + word_cell(word_paragraph("Top"), '<w:vMerge w:val="restart"/>')
    rows += word_cell(word_paragraph("Duty 0")) + "</w:tr>"
    rows += "".join(
        f"<w:tr>{word_cell('<w:p/>', '<w:vMerge/>')}{word_cell(word_paragraph(f'Duty {n}'))}</w:tr>"
        for n in range(1, 1_500)
    )

    [(kind, text)] = texts(make_docx_with_body(f"<w:tbl>{rows}</w:tbl>"), "duties.docx")

    lines = text.split("\n")
    assert kind == "paragraph"
    assert lines[:2] == ["Top | Duty 0", " | Duty 1"]
    assert len(lines) == 1_500


def test_a_large_document_part_is_rejected_by_its_size_and_read_as_a_stream() -> None:
    # 190 MB of empty paragraphs with random revision ids (compressing only ~10x) took 3.46 GB as a tree.
    generator = random.Random(3)
    body = "".join(f'<w:p w:rsidR="{generator.getrandbits(32):08X}"/>' for _ in range(150_000)) + word_paragraph("End")
    data = make_docx_with_body(body)

    assert "the limit is 1,048,576" in rejection(data, "empty.docx", ExtractionLimits(max_docx_part_bytes=1024**2))
    # Within the limit it is read in bounded memory: measured in a child process (libxml2 allocates outside
    # tracemalloc's sight); a tree of these 4 MB of XML alone would take ~70 MB more than the streaming read.
    script = (
        "import resource, sys\n"
        "from phi.documents.extract import extract\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "text = extract(sys.stdin.buffer.read(), 'empty.docx').pages[0].text\n"
        "print(text, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, timeout=120, check=True)
    text, grown_mb = done.stdout.decode().split()
    assert text == "End"
    assert int(grown_mb) < 40


CONTENT_TYPES_NAMESPACE = "http://schemas.openxmlformats.org/package/2006/content-types"
WORD_MAIN_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def test_a_content_types_part_of_millions_of_elements_is_read_in_bounded_memory() -> None:
    # Every element of [Content_Types].xml is let go once read, not only its Overrides: 16 million unknown
    # elements in a 669 KB file (random filler keeping the compression ratio under the bomb check) took 2 GB.
    filler = base64.b64encode(random.Random(5).randbytes(60_000)).decode()
    content_types = (
        f'<Types xmlns="{CONTENT_TYPES_NAMESPACE}"><f>{filler}</f>{"<a/>" * 1_500_000}'
        f'<Override PartName="/word/document.xml" ContentType="{WORD_MAIN_CONTENT_TYPE}"/></Types>'
    )
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr(
            "word/document.xml",
            f'<w:document xmlns:w="{WORD_NAMESPACE}"><w:body>{word_paragraph("End")}</w:body></w:document>',
        )
    # Measured in a child process, as above: 190 MB more when the elements were kept.
    script = (
        "import resource, sys\n"
        "from phi.documents.extract import extract\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "text = extract(sys.stdin.buffer.read(), 'types.docx').pages[0].text\n"
        "print(text, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=output.getvalue(), capture_output=True, timeout=120, check=True
    )
    text, grown_mb = done.stdout.decode().split()
    assert text == "End"
    assert int(grown_mb) < 40


def test_nested_tables_content_controls_revisions_text_boxes_and_tags_are_read_in_order() -> None:
    inner = f"<w:tbl><w:tr>{word_cell(word_paragraph('Inner A'))}{word_cell(word_paragraph('Inner B'))}</w:tr></w:tbl>"
    text_box = (
        "<w:p><w:r><mc:AlternateContent>"
        "<mc:Choice Requires='wps'><w:drawing><wps:txbx><w:txbxContent>"
        f"{word_paragraph('Text box line')}"
        "</w:txbxContent></wps:txbx></w:drawing></mc:Choice>"
        "<mc:Fallback><w:pict><v:textbox><w:txbxContent>"
        f"{word_paragraph('Text box line')}"
        "</w:txbxContent></v:textbox></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r><w:r><w:t>Anchor paragraph.</w:t></w:r></w:p>"
    )
    body = (
        word_paragraph("Safety rules", style="Heading1")
        + f"<w:tbl><w:tr>{word_cell(word_paragraph('Outer') + inner)}{word_cell(word_paragraph('Right'))}</w:tr>"
        + "</w:tbl>"
        + f"<w:sdt><w:sdtPr/><w:sdtContent>{word_paragraph('Inside a content control')}</w:sdtContent></w:sdt>"
        + "<w:p><w:r><w:t xml:space='preserve'>Keep </w:t></w:r>"
        "<w:del><w:r><w:delText>removed </w:delText></w:r></w:del>"
        "<w:moveFrom><w:r><w:t>moved away </w:t></w:r></w:moveFrom>"
        "<w:ins><w:r><w:t>inserted </w:t></w:r></w:ins>"
        "<w:smartTag w:uri='x' w:element='y'><w:r><w:t>tagged </w:t></w:r></w:smartTag>"
        "<w:customXml w:element='z'><w:r><w:t>custom</w:t></w:r></w:customXml></w:p>" + text_box
    )

    assert texts(make_docx_with_body(body), "rules.docx") == [
        ("heading", "Safety rules"),
        ("paragraph", "Outer\nInner A | Inner B | Right"),
        ("paragraph", "Inside a content control"),
        ("paragraph", "Keep inserted tagged custom"),
        ("paragraph", "Text box line"),
        ("paragraph", "Anchor paragraph."),
    ]


def test_tables_nested_too_deeply_are_rejected_with_that_reason() -> None:
    body = word_paragraph("x")
    for _ in range(20):
        body = f"<w:tbl><w:tr>{word_cell(body)}</w:tr></w:tbl>"
    deeper = word_paragraph("x")
    for _ in range(100):
        deeper = f"<w:tbl><w:tr>{word_cell(deeper)}</w:tr></w:tbl>"

    assert (
        rejection(make_docx_with_body(body), "deep.docx")
        == "tables nested too deeply: more than 16 tables inside each other"
    )
    assert "nested too deeply" in rejection(make_docx_with_body(deeper), "deeper.docx")


def test_a_macro_enabled_document_renamed_docx_is_rejected_with_what_it_is() -> None:
    macro = "application/vnd.ms-word.document.macroEnabled.main+xml"
    data = make_docx_with_body(word_paragraph("Hello"), content_types={"/word/document.xml": macro})

    assert rejection(data, "report.docx").startswith("macro-enabled Word files are not supported; save it as .docx")


# ----------------------------------------------------------------------------------------------------- PDF


def test_a_font_map_that_decompresses_past_the_stream_limit_is_rejected() -> None:
    # Only page contents had a cap (8 MiB); a ToUnicode map of 70 MB took 1.78 GB before pypdf's own limit fired.
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <00> <FF>"
        b" endcodespacerange\n1 beginbfchar\n<41> <0042>\nendbfchar\n" + b"% padding\n" * 50_000 + b"endcmap end end"
    )
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"
    objects = {**one_page_pdf_objects(b"BT /F1 12 Tf 10 10 Td (AAAA) Tj ET", font=font), 6: pdf_stream(cmap)}
    data = make_raw_pdf(objects)
    assert extract(data, "font.pdf").pages[0].text == "BBBB"  # the map is used when within the limits

    reason = rejection(data, "font.pdf", ExtractionLimits(max_stream_bytes=100_000))

    assert reason.startswith("the PDF is too complex to read: page 1 exceeds a safety limit")


def _page_naming_one_font(names: int, map_entries: int) -> bytes:
    """One page whose font list names the same font `names` times; the font's ToUnicode map has `map_entries`."""
    entries = b"".join(b"<%04X> <%04X>\n" % (i, 0x41 + i % 26) for i in range(1, map_entries + 1))
    blocks = b"".join(
        b"%d beginbfchar\n" % len(entries[j : j + 1400].splitlines()) + entries[j : j + 1400] + b"endbfchar\n"
        for j in range(0, len(entries), 1400)
    )
    cmap = b"begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange " + blocks + b"endcmap"
    objects = one_page_pdf_objects(b"BT /F0 12 Tf 72 720 Td <0001> Tj ET")
    fonts = b"".join(b"/F%d 3 0 R" % i for i in range(names))
    objects[3] = b"<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /ToUnicode 6 0 R >>"
    objects[4] = objects[4].replace(b"/F1 3 0 R", fonts)
    objects[6] = pdf_stream(cmap)
    return make_raw_pdf(objects)


def test_a_page_naming_one_big_font_map_many_times_is_rejected_before_its_text_is_laid_out() -> None:
    # pypdf parses a font's map again for each name before the first operator (no page deadline reaches it):
    # 150 names of one 65,000-entry map took 46 s and 1.9 GB
    reason = rejection(_page_naming_one_font(150, 65_000), "fonts.pdf")
    assert reason.startswith("page 1 is too complex to read: its fonts' character maps come to more than")
    many = rejection(_page_naming_one_font(300, 10), "fonts.pdf")
    assert many == "page 1 is too complex to read: it names 300 fonts, the limit is 256"
    assert extract(_page_naming_one_font(3, 2_000), "fonts.pdf").pages[0].text == "B"  # an ordinary page is read


def _expanding_font_pdf(codes: int, chars_per_code: int) -> bytes:
    """One page drawing `codes` copies of 'A' in one string, with a font map that turns 'A' into that many CJK
    characters: a few KB of file."""
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <00> <FF>"
        b" endcodespacerange 1 beginbfchar <41> <" + b"4E00" * chars_per_code + b"> endbfchar endcmap end end"
    )
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"
    content = b"BT /F1 12 Tf 72 700 Td (" + b"A" * codes + b") Tj ET"
    return make_raw_pdf({**one_page_pdf_objects(content, font=font), 6: pdf_stream(cmap)})


def test_a_font_map_turning_one_code_into_many_characters_is_rejected_before_the_text_is_built() -> None:
    # 3.8 KB of PDF: one string of 3,000,000 codes, each becoming 256 characters — pypdf built the page's 768 million
    # characters (1.5 GB) before the limit on characters could see them
    bomb = _expanding_font_pdf(3_000_000, 256)
    assert len(bomb) < 10_000
    assert rejection(bomb, "bomb.pdf") == (
        "page 1 cannot be read safely: a font's character map turns one code into 256 characters (at most 32 are read)"
    )
    # within the entry limit, the page's content times its longest entry bounds what it could become
    wide = rejection(_expanding_font_pdf(2_000_000, 20), "wide.pdf")
    assert wide.startswith("page 1 is too complex to read: its fonts map one character code to up to 20 characters")
    # an ordinary ligature map is read
    assert extract(_expanding_font_pdf(4, 3), "ligature.pdf").pages[0].text == "\u4e00" * 12


def test_a_word_element_with_a_huge_number_of_attributes_is_rejected_as_it_is_read() -> None:
    # libxml2 allows a 10 MB start tag (~800,000 attributes, ~200 MB of memory each while the element is open)
    attributes = " ".join(f'a{i:x}="1"' for i in range(5_000))
    body = f"<w:sdt {attributes}>" + word_paragraph("Hi") + "</w:sdt>"
    reason = rejection(make_docx_with_body(body), "attrs.docx")
    assert reason.startswith("the Word document has an element with 5,000 attributes (the limit is 512)")


@pytest.mark.parametrize(("flag_bits", "method", "words"), [(0x1, None, "password-protected"), (0, 99, "method 99")])
def test_an_encrypted_or_unreadable_zip_entry_is_a_readable_rejection(
    flag_bits: int, method: int | None, words: str
) -> None:
    import io
    import struct
    import zipfile

    data = bytearray(make_docx_with_body(word_paragraph("Hi")))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        local = archive.getinfo("word/document.xml").header_offset
    # the flags and the compression method of word/document.xml, in its local header and its directory record
    for offset, flags_at in ((local, 6), (_central_record(bytes(data), "word/document.xml"), 8)):
        flags, compression = struct.unpack_from("<HH", data, offset + flags_at)
        struct.pack_into("<HH", data, offset + flags_at, flags | flag_bits, method or compression)

    assert words in rejection(bytes(data), "locked.docx")


def _central_record(data: bytes, name: str) -> int:
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_length] == name.encode():
            return at
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no central directory record for {name}")


def test_a_pdf_with_an_unknown_security_handler_is_rejected() -> None:
    objects = {**one_page_pdf_objects(b"BT /F1 12 Tf 10 10 Td (Hi) Tj ET"), 9: b"<< /Filter /Unknown /V 9 /R 9 >>"}
    data = make_raw_pdf(objects, extra_trailer=b"/Encrypt 9 0 R /ID [<00> <00>] ")

    assert rejection(data, "locked.pdf").startswith("this kind of PDF is not supported")


def test_a_page_tree_claiming_two_to_the_forty_pages_is_rejected_by_a_limit() -> None:
    objects = {
        1: b"<< /Type /Catalog /Pages 100 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        4: b"<< /Type /Page /MediaBox [0 0 612 792] /Contents 5 0 R >>",
        5: pdf_stream(b"BT ET"),
    }
    for depth in range(40):  # every node lists the same child twice
        child = 4 if depth == 39 else 101 + depth
        objects[100 + depth] = b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count %d >>" % (child, child, 2 ** (40 - depth))

    assert rejection(make_raw_pdf(objects), "pages.pdf").startswith("too many pages: its page tree has more than")


def _page_drawing_forms(page_content: bytes, forms: list[bytes], form_font: bytes | None = None) -> bytes:
    """One page whose content `page_content` draws Form XObjects /X0, /X1... (contents `forms`); each form has the
    font /F1 as its own resource: `form_font` (object 7, a ToUnicode map in object 6 if it names one) or the page's."""
    objects = one_page_pdf_objects(page_content)
    font_number = 3
    if form_font is not None:
        objects[7], font_number = form_font, 7
        cmap = b"begincmap 1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <41> <"
        objects[6] = pdf_stream(cmap + b"4E00" * 256 + b"> endbfchar endcmap")
    names = b"".join(b"/X%d %d 0 R " % (i, 10 + i) for i in range(len(forms)))
    objects[4] = objects[4].replace(b"/Font << /F1 3 0 R >>", b"/Font << /F1 3 0 R >> /XObject << " + names + b">>")
    form = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> " % font_number
    for i, content in enumerate(forms):
        objects[10 + i] = pdf_stream(content, form)
    return make_raw_pdf(objects)


def test_a_form_xobjects_own_font_map_is_checked_as_a_pages_is() -> None:
    # Only the page's own fonts were checked: a map turning a code into 256 characters, as a form's font, made a
    # 4 KB file build 768 million characters (1.5 GB) before any limit saw them
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"
    data = _page_drawing_forms(b"/X0 Do", [b"BT /F1 12 Tf 72 700 Td (AAAA) Tj ET"], form_font=font)

    assert rejection(data, "form-font.pdf") == (
        "page 1 cannot be read safely: a font's character map turns one code into 256 characters (at most 32 are read)"
    )


def test_the_forms_a_page_draws_count_toward_its_content_size() -> None:
    # 300 distinct forms of 7 MiB (blank) on one page, 2 MB of file, held 1.8 GB and read for 156 s
    forms = [b"BT /F1 12 Tf 72 700 Td (Form %d) Tj ET" % i + b" " * 30_000 for i in range(5)]
    data = _page_drawing_forms(b"/X0 Do /X1 Do /X2 Do /X3 Do /X4 Do", forms)
    assert "Form 4" in extract(data, "forms.pdf").pages[0].text  # within the limit: read

    reason = rejection(data, "forms.pdf", ExtractionLimits(max_page_content_bytes=100_000))

    assert reason == (
        "page 1 is too complex to read: its content and the forms it draws are more than 100,000 bytes once"
        " decompressed"
    )


def test_a_page_past_its_deadline_inside_a_form_is_stopped() -> None:
    # pypdf catches any Exception raised while it reads a form and goes on with the next: the page's deadline was
    # lost inside each form, and a page drawing a slow form 1,000 times ran 97 s on a 20 s limit
    data = _page_drawing_forms(b"/X0 Do\n" * 50, [b"BT /F1 12 Tf 72 700 Td " + b"(Forklift) Tj " * 300 + b"ET"])

    reason = rejection(data, "slow-form.pdf", ExtractionLimits(max_page_seconds=0))

    assert reason.startswith("page 1 took longer than 0 s to read")


def test_a_form_drawn_many_times_stops_being_read_once_the_text_is_past_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A form of 1 MiB of text drawn 5,000 times by a 2 KB file: its text was built whole (5 GB) before the page's
    # length was compared with the limit
    from pypdf import PageObject

    drawn: list[int] = []
    read_form = PageObject._extract_text__xform

    def counted(self: PageObject, *args: object, **kwargs: object) -> str:
        drawn.append(1)
        return read_form(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(PageObject, "_extract_text__xform", counted)
    data = _page_drawing_forms(b"/X0 Do\n" * 1_000, [b"BT /F1 12 Tf 72 700 Td (" + b"A" * 600 + b") Tj ET"])

    reason = rejection(data, "repeated-form.pdf", ExtractionLimits(max_chars=10_000))

    assert reason.startswith("too much text: more than 10,000 characters (reached on page 1 of 1)")
    assert len(drawn) < 20  # stopped as the text passed the limit, not after the page's 1,000 forms


def test_what_a_page_decompressed_is_let_go_before_the_next_page() -> None:
    # pypdf keeps every object it read, decompressed streams included: 300 pages of 7 MiB of blank content (2 MB of
    # file) held 1.36 GB by page 186. Here 12 pages of 2 MB each, measured alone in a child process.
    setup = (
        "from phi.documents.extract import extract\n"
        "from tests.unit.documents.test_documents_hostile_inputs import pdf_of_large_blank_pages\n"
        "data = pdf_of_large_blank_pages(12, 2_000_000)\n"
    )
    [measured] = peaks_in_child(setup, ["extract(data, 'big.pdf').page_count"])

    assert measured.value == "12"
    assert measured.peak < 12_000_000  # one page's content and its reading; keeping them all is over 24 MB


def pdf_of_large_blank_pages(pages: int, blank_bytes: int) -> bytes:
    """Pages of one line of text and `blank_bytes` of a comment each (distinct streams, ~1000x compressed)."""
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (10 + 2 * i) for i in range(pages)), pages),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for i in range(pages):
        objects[10 + 2 * i] = (
            b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (11 + 2 * i)
        )
        objects[11 + 2 * i] = pdf_stream(b"BT /F1 10 Tf 20 700 Td (Page %d) Tj ET\n%%" % i + b"a" * blank_bytes + b"\n")
    return make_raw_pdf(objects)


# ------------------------------------------------------------------------------------------------ chunking


def test_a_huge_heading_is_capped_on_its_chunks_and_counts_toward_their_size() -> None:
    long_heading = "Heading " * 60_000  # ~500 KB on one line
    body = [Block(kind="paragraph", text=f"Rule {n} says the forklift stays below six km/h. " * 5) for n in range(20)]
    document = ExtractedDocument(
        format="md", pages=[Page(number=None, blocks=[Block(kind="heading", text=long_heading, level=1), *body])]
    )

    chunks = chunk(document)

    assert len(chunks) > 2
    assert all(item.heading is not None and len(item.heading) <= MAX_HEADING_CHARS for item in chunks)
    assert all(len(embedding_input(item)) <= 1_000 for item in chunks)


def test_a_long_chain_of_headings_keeps_the_innermost_ones() -> None:
    headings = [Block(kind="heading", text=f"Part {n}", level=1) for n in range(5_000)]
    document = ExtractedDocument(
        format="md", pages=[Page(number=None, blocks=[*headings, Block(kind="paragraph", text="The only rule.")])]
    )

    chunks = chunk(document)

    assert {item.heading for item in chunks} == {chunks[0].heading}
    heading = chunks[0].heading or ""
    assert heading.endswith("Part 4998 > Part 4999")
    assert len(heading) <= MAX_HEADING_CHARS


def test_the_embedding_input_is_capped_at_the_model_input_size() -> None:
    item = Chunk(index=1, text="x" * 20_000, page=None, heading="h" * 20_000, content_hash="x")

    assert len(embedding_input(item)) == MAX_EMBEDDING_INPUT_CHARS


def test_chunking_stops_one_chunk_past_the_limit() -> None:
    blocks = [Block(kind="paragraph", text=f"Rule {n} " + "applies to every pallet. " * 40) for n in range(300)]
    document = ExtractedDocument(format="txt", pages=[Page(number=None, blocks=blocks)])

    assert len(chunk(document)) > 300
    assert len(chunk(document, max_chunks=10)) == 11


# -------------------------------------------------------------------------------------------- time budget


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        ("\n\n".join(f"Rule {n}." for n in range(2_000)).encode(), "rules.md"),
        (make_docx_with_body(word_paragraph("Rule.") * 2_000), "rules.docx"),
        (make_pdf(["Rule one.", "Rule two."]), "rules.pdf"),
    ],
)
def test_when_the_callers_time_runs_out_reading_stops_as_out_of_time_not_as_a_rejection(
    data: bytes, filename: str
) -> None:
    with pytest.raises(OutOfTime):
        extract(data, filename, ExtractionLimits(must_finish_by=time.monotonic() - 1))
