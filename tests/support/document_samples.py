"""Real PDF and DOCX files made on the fly (fpdf2 and python-docx), for extraction tests."""

from __future__ import annotations

import io
import zipfile
import zlib

import docx
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter


def make_pdf(page_texts: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in page_texts:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def encrypt_pdf(data: bytes, user_password: str, owner_password: str = "owner-secret") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def make_docx(items: list[tuple[str, str]], table: list[list[str]] | None = None) -> bytes:
    """items: (style, text) with style 'Heading 1', 'Heading 2', 'Title' or '' for a paragraph."""
    document = docx.Document()
    for style, text in items:
        if style:
            document.add_paragraph(text, style=style)
        else:
            document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def make_zip_bomb(uncompressed_bytes: int) -> bytes:
    """A zip that looks like a DOCX and expands ~1000x: one huge entry of zeros."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as entry:
            block = b"\0" * (1024 * 1024)
            for _ in range(uncompressed_bytes // len(block)):
                entry.write(block)
    return output.getvalue()


def make_pdf_with_content_streams(pages: int, stream_bytes: int, text: str = "Forklift speed is six km/h") -> bytes:
    """A small PDF whose pages each draw the same line over and over: `stream_bytes` of content per page,
    flate-compressed ~100x, the shape of an ingest bomb (few KB on disk, millions of characters of text)."""
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    line = f"BT /F1 10 Tf 20 700 Td ({text}) Tj ET\n".encode("latin-1")
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data(line * max(stream_bytes // len(line), 1))
        page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


WORD_NAMESPACE = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def make_docx_with_body(body_xml: str, content_types: dict[str, str] | None = None) -> bytes:
    """A real python-docx package whose word/document.xml body is `body_xml` (WordprocessingML with the `w:`
    prefix, plus `mc:`/`wps:`/`v:` if used). `content_types`: part name → content type overrides to set."""
    skeleton = io.BytesIO()
    docx.Document().save(skeleton)
    document_xml = (
        f'<w:document xmlns:w="{WORD_NAMESPACE}"'
        ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
        ' xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
        ' xmlns:v="urn:schemas-microsoft-com:vml">'
        f"<w:body>{body_xml}</w:body></w:document>"
    )
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(skeleton.getvalue())) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = document_xml.encode()
            elif item.filename == "[Content_Types].xml" and content_types:
                text = data.decode()
                for part, content_type in content_types.items():
                    start = text.index(f'PartName="{part}"')
                    type_start = text.index('ContentType="', start) + len('ContentType="')
                    type_end = text.index('"', type_start)
                    text = text[:type_start] + content_type + text[type_end:]
                data = text.encode()
            target.writestr(item.filename, data)
    return output.getvalue()


def word_paragraph(text: str, style: str = "") -> str:
    properties = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    return f"<w:p>{properties}<w:r><w:t>{text}</w:t></w:r></w:p>"


def word_cell(content: str, properties: str = "") -> str:
    return f"<w:tc>{f'<w:tcPr>{properties}</w:tcPr>' if properties else ''}{content}</w:tc>"


def make_raw_pdf(objects: dict[int, bytes], extra_trailer: bytes = b"") -> bytes:
    """A PDF written object by object (number → body), for structures no PDF library writes on purpose."""
    output = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(output)
        output += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref_at = len(output)
    size = max(objects) + 1
    output += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        output += b"%010d 00000 %s \n" % (offsets.get(number, 0), b"n" if number in offsets else b"f")
    output += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (size, extra_trailer, xref_at)
    return bytes(output)


def pdf_stream(data: bytes, extra: bytes = b"") -> bytes:
    compressed = zlib.compress(data, 9)
    return b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(compressed), extra) + compressed + b"\nendstream"


def one_page_pdf_objects(
    content: bytes, font: bytes = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
) -> dict[int, bytes]:
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        3: font,
        4: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
        b" /Contents 5 0 R >>",
        5: pdf_stream(content),
    }
