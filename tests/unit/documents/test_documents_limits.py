"""Bounded work per document (characters, page content, time) and text cleaning, on PDFs generated here."""

from __future__ import annotations

import pytest

from phi.documents.extract import ExtractionLimits, clean_text, extract
from phi.documents.models import DocumentRejected
from tests.support.document_samples import make_pdf, make_pdf_with_content_streams


def test_a_pdf_whose_pages_expand_to_millions_of_characters_is_rejected_by_its_text_size() -> None:
    bomb = make_pdf_with_content_streams(pages=4, stream_bytes=400_000)
    assert len(bomb) < 60_000  # a small file on disk...

    with pytest.raises(DocumentRejected) as rejected:
        extract(bomb, "bomb.pdf", ExtractionLimits(max_chars=100_000))

    # ...whose first page alone is over the limit: reading stops there
    assert rejected.value.reason.startswith("too much text: more than 100,000 characters (reached on page 1 of 4)")


def test_a_page_with_an_oversized_content_stream_is_rejected_before_its_text_is_read() -> None:
    bomb = make_pdf_with_content_streams(pages=2, stream_bytes=300_000)

    with pytest.raises(DocumentRejected) as rejected:
        extract(bomb, "bomb.pdf", ExtractionLimits(max_page_content_bytes=100_000))

    assert "page 1 is too complex to read" in rejected.value.reason
    assert "the limit is 100,000" in rejected.value.reason


def test_reading_a_page_past_its_time_limit_is_stopped_with_the_page_named() -> None:
    pdf = make_pdf_with_content_streams(pages=2, stream_bytes=20_000)

    with pytest.raises(DocumentRejected) as rejected:
        extract(pdf, "slow.pdf", ExtractionLimits(max_page_seconds=0))

    assert rejected.value.reason.startswith("page 1 took longer than 0 s to read")


def test_reading_a_document_past_its_time_limit_is_stopped() -> None:
    pdf = make_pdf_with_content_streams(pages=2, stream_bytes=20_000)

    with pytest.raises(DocumentRejected) as rejected:
        extract(pdf, "slow.pdf", ExtractionLimits(max_seconds=0))

    assert rejected.value.reason.startswith("reading the text took longer than 0 s (stopped on page 1)")


def test_a_pdf_within_the_limits_is_read() -> None:
    pdf = make_pdf_with_content_streams(pages=2, stream_bytes=2_000)

    document = extract(pdf, "fine.pdf")

    assert document.page_count == 2
    assert "Forklift speed is six km/h" in document.pages[1].text


def test_plain_text_over_the_character_limit_is_rejected() -> None:
    with pytest.raises(DocumentRejected, match="too much text: more than 1,000 characters"):
        extract(b"word " * 1000, "long.txt", ExtractionLimits(max_chars=1000))


def test_control_characters_are_removed_and_line_breaking_ones_become_line_breaks() -> None:
    assert clean_text("Seal\x00 check\x01ed\x7f\x9b\ud800") == "Seal checked"
    assert clean_text("page one\x0cpage two\x0bline") == "page one\npage two\nline"
    assert clean_text("tabs\tand\nlines\r\nstay") == "tabs\tand\nlines\r\nstay"


def test_a_pdf_whose_text_holds_nul_characters_yields_clean_text() -> None:
    pdf = make_pdf_with_content_streams(pages=1, stream_bytes=100, text="Dock\\000 door\\001 seven")

    document = extract(pdf, "nul.pdf")

    text = document.pages[0].text
    assert "Dock door seven" in text
    assert not any(ord(char) < 9 for char in text)


def test_a_text_file_with_control_characters_keeps_its_words() -> None:
    document = extract(b"Pallets\x1b are wrapped\x08 twice.\x0cLabels face out.", "sop.txt")

    assert document.pages[0].text == "Pallets are wrapped twice.\nLabels face out."


def test_an_object_replaced_by_a_larger_one_after_its_size_was_checked_is_read_no_further_than_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # S3 and the database stand-ins (the race cannot be timed on moto): the object's size checks out, then its
    # upload URL, still valid, replaces it with a bigger one before it is read
    import contextlib
    import io
    import uuid

    from phi.documents import pipeline
    from phi.settings import get_settings

    limit = get_settings().max_upload_bytes
    requested: list[int] = []
    failed: list[str] = []

    class Body(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            requested.append(-1 if size is None else size)
            return super().read(size)

    class S3:
        def head_object(self, **_: object) -> dict[str, int]:
            return {"ContentLength": 1_000}

        def get_object(self, **_: object) -> dict[str, object]:
            return {"Body": Body(b"x" * (limit + 5_000))}

    monkeypatch.setattr(pipeline, "client", lambda service: S3())
    monkeypatch.setattr(pipeline, "transaction", contextlib.nullcontext)
    monkeypatch.setattr(pipeline.documents_repo, "mark_failed", lambda conn, document, reason: failed.append(reason))

    outcome = pipeline.ingest_s3_object("bucket", f"documents/{uuid.uuid4()}/{uuid.uuid4()}/sop.pdf")

    assert outcome["status"] == "FAILED" and outcome["reason"] == "too large"
    assert requested == [limit + 1]
    assert failed == [f"the file is more than {limit:,} bytes; the limit is {limit:,} bytes"]


def test_the_version_measured_is_the_version_read_and_refused_it_is_the_version_deleted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # S3 stand-in: the object's upload URL is still valid, so a newer version may exist by the time it is read
    import contextlib
    import io
    import uuid

    from phi.documents import pipeline
    from phi.settings import get_settings

    limit = get_settings().max_upload_bytes
    calls: list[tuple[str, dict[str, object]]] = []

    class S3:
        def head_object(self, **kwargs: object) -> dict[str, object]:
            calls.append(("head", kwargs))
            return {"ContentLength": limit + 1, "VersionId": "v-measured"}

        def get_object(self, **kwargs: object) -> dict[str, object]:
            calls.append(("get", kwargs))
            return {"Body": io.BytesIO(b"")}

        def delete_object(self, **kwargs: object) -> None:
            calls.append(("delete", kwargs))

    monkeypatch.setattr(pipeline, "client", lambda service: S3())
    monkeypatch.setattr(pipeline, "transaction", contextlib.nullcontext)
    monkeypatch.setattr(pipeline.documents_repo, "mark_failed", lambda conn, document, reason: None)

    key = f"documents/{uuid.uuid4()}/{uuid.uuid4()}/big.pdf"
    assert pipeline.ingest_s3_object("bucket", key)["status"] == "FAILED"
    assert calls[-1] == ("delete", {"Bucket": "bucket", "Key": key, "VersionId": "v-measured"})


def test_an_event_for_a_file_deleted_since_is_ignored_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    import uuid

    from botocore.exceptions import ClientError

    from phi.documents import pipeline

    class S3:
        def head_object(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

    monkeypatch.setattr(pipeline, "client", lambda service: S3())
    outcome = pipeline.ingest_s3_object("bucket", f"documents/{uuid.uuid4()}/{uuid.uuid4()}/gone.pdf")
    assert outcome["status"] == "IGNORED" and outcome["reason"] == "the stored file is gone"


def _blank_pages_pdf(count: int) -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_a_pdf_at_its_page_limit_is_read_and_one_far_past_it_is_refused_at_its_page_tree() -> None:
    limits = ExtractionLimits(max_pages=20)
    assert len(extract(make_pdf([f"Page {n}" for n in range(20)]), "ok.pdf", limits).pages) == 20
    with pytest.raises(DocumentRejected, match=r"^too many pages: 21, the limit is 20$"):
        extract(_blank_pages_pdf(21), "one-more.pdf", limits)
    # pypdf flattens the whole page tree before the count can be checked (100,000 pages cost ~430 MB): a tree far
    # larger than the limit allows is refused while it is read
    with pytest.raises(DocumentRejected, match=r"^too many pages: its page tree has more than 1,040 entries"):
        extract(_blank_pages_pdf(1_100), "many.pdf", limits)
