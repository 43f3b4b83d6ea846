from __future__ import annotations

import io
import zipfile

import pytest

from phi.documents.extract import ExtractionLimits, extract
from phi.documents.models import DocumentRejected
from tests.support.document_samples import encrypt_pdf, make_docx, make_pdf, make_zip_bomb


def rejection(data: bytes, filename: str, limits: ExtractionLimits | None = None) -> str:
    with pytest.raises(DocumentRejected) as caught:
        extract(data, filename, limits)
    return caught.value.reason


def test_pdf_pages_are_numbered_and_keep_their_text() -> None:
    data = make_pdf(["Receiving starts at dock 4.", "", "Forklifts are charged in room B."])

    document = extract(data, "SOP.PDF")

    assert document.format == "pdf"
    assert document.page_count == 3
    assert [page.number for page in document.pages] == [1, 2, 3]
    assert "dock 4" in document.pages[0].text
    assert document.pages[1].blocks == []
    assert "room B" in document.pages[2].text


def test_pdf_with_only_an_owner_password_is_readable() -> None:
    data = encrypt_pdf(make_pdf(["Cycle counts are blind."]), user_password="")

    assert "blind" in extract(data, "counts.pdf").pages[0].text


def test_pdf_needing_a_password_is_rejected() -> None:
    data = encrypt_pdf(make_pdf(["Secret rates."]), user_password="open-sesame")

    assert rejection(data, "rates.pdf").startswith("encrypted PDF")


def test_corrupt_pdf_is_rejected() -> None:
    data = make_pdf(["Some text that will be cut off."])[:300]

    assert rejection(data, "broken.pdf").startswith("corrupt PDF")


def test_pdf_without_text_layer_is_rejected_with_a_hint() -> None:
    data = make_pdf(["", ""])

    assert "no extractable text" in rejection(data, "scan.pdf")


def test_docx_headings_paragraphs_and_tables_in_reading_order() -> None:
    data = make_docx(
        [
            ("Title", "Warehouse SOP"),
            ("Heading 1", "Receiving"),
            ("", "Check the seal."),
            ("Heading 2", "Damage"),
        ],
        table=[["Defect", "Action"], ["Crushed", "Quarantine"]],
    )

    document = extract(data, "sop.docx")

    assert document.page_count is None
    assert [page.number for page in document.pages] == [None]
    blocks = [(block.kind, block.level, block.text) for block in document.pages[0].blocks]
    assert blocks == [
        ("heading", 1, "Warehouse SOP"),
        ("heading", 1, "Receiving"),
        ("paragraph", 0, "Check the seal."),
        ("heading", 2, "Damage"),
        ("paragraph", 0, "Defect | Action\nCrushed | Quarantine"),
    ]


def test_docx_zip_bomb_is_rejected_before_parsing() -> None:
    bomb = make_zip_bomb(64 * 1024 * 1024)
    assert len(bomb) < 200_000

    assert "zip bomb" in rejection(bomb, "innocent.docx")
    small_limits = ExtractionLimits(max_uncompressed_bytes=10 * 1024 * 1024, max_compression_ratio=1e9)
    assert "would expand to" in rejection(bomb, "innocent.docx", small_limits)


def test_docx_that_is_not_a_valid_zip_is_rejected() -> None:
    assert "not a valid zip" in rejection(b"PK\x03\x04" + b"garbage" * 100, "report.docx")


def test_zip_without_word_document_is_rejected() -> None:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")

    assert "not a Word document" in rejection(output.getvalue(), "sheet.docx")


def test_markdown_headings_outside_code_fences() -> None:
    text = "# Picking\n\nScan the bin.\n\n```\n# not a heading\n```\n\n## Short picks ##\nReport them.\n"

    blocks = extract(text.encode(), "guide.md").pages[0].blocks

    assert [(block.kind, block.level, block.text) for block in blocks] == [
        ("heading", 1, "Picking"),
        ("paragraph", 0, "Scan the bin."),
        ("paragraph", 0, "```\n# not a heading\n```"),
        ("heading", 2, "Short picks"),
        ("paragraph", 0, "Report them."),
    ]


def test_text_in_utf8_bom_and_cp1252() -> None:
    assert extract("\ufeffTemperature 2\u20138 °C".encode(), "a.txt").pages[0].text == "Temperature 2\u20138 °C"
    assert extract("Température élevée".encode("cp1252"), "b.txt").pages[0].text == "Température élevée"


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"hello", "macro.xlsm", "unsupported file type '.xlsm'"),
        (b"hello", "README", "unsupported file type 'no extension'"),
        (b"", "empty.pdf", "empty file"),
        (b"just text", "fake.pdf", "named .pdf but is not a PDF"),
        (b"just text", "fake.docx", "named .docx but is not a Word document"),
        (b"%PDF-1.7 whatever", "notes.txt", "named .txt but is really a PDF"),
        (b"PK\x03\x04rest", "notes.md", "named .md but is really a zip archive"),
        (b"\x00\x01\x02binary", "dump.txt", "contains binary data"),
        (b" \n\n \t\n", "blank.txt", "no extractable text"),
    ],
)
def test_bad_inputs_are_rejected_with_a_reason(data: bytes, filename: str, expected: str) -> None:
    assert expected in rejection(data, filename)


def test_oversize_file_is_rejected_before_parsing() -> None:
    reason = rejection(b"x" * 2048, "big.txt", ExtractionLimits(max_bytes=1024))

    assert reason == "file too large: 2,048 bytes, the limit is 1,024 bytes"
