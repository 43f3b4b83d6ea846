"""A document's name as uploaded is the one shown, cited and named in `threshold_sources`; only its S3 key is made
safe. Documents stored before under their safe name still answer to their original name."""

from __future__ import annotations

import unicodedata
import uuid

import pytest

from phi.documents.models import SearchHit
from phi.domain.document_keys import (
    MAX_DOCUMENT_NAME_CHARS,
    document_name,
    matching_names,
    object_key,
    safe_filename,
)
from phi.workflows.sop_retrieval import thresholds_from_sops
from tests.support.fake_ports import FakeDocuments

ORIGINAL = "Outbound SOP (v2) \N{EN DASH} Zoë & Co.docx"
OLD_SAFE_NAME = "Outbound SOP _v2_ _ Zo_ _ Co.docx"  # how it was stored and shown before


def test_the_name_is_kept_as_uploaded_and_only_the_storage_key_is_made_safe() -> None:
    org_id, document_id = uuid.uuid4(), uuid.uuid4()
    assert document_name(ORIGINAL) == ORIGINAL
    assert safe_filename(ORIGINAL) == OLD_SAFE_NAME
    assert object_key(org_id, document_id, ORIGINAL).endswith(f"/{document_id}/{OLD_SAFE_NAME}")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (unicodedata.normalize("NFD", ORIGINAL), ORIGINAL),  # macOS sends ë decomposed
        ("../../etc/Zoë.md", "Zoë.md"),  # no path parts
        ("C:\\Users\\zoe\\SOP (v2).pdf", "SOP (v2).pdf"),
        ("SOP\nv2\t.md", "SOP v2 .md"),  # a line break would split a citation line
        ("SOP\u202excod.exe", "SOPxcod.exe"),  # a right-to-left override would show it as 'SOPexe.docx'
        ("  Late\u0000 shipments.md  ", "Late shipments.md"),
        ("..", ".."),  # no extension: refused at upload
        ("", "document"),
    ],
)
def test_a_name_is_normalised_without_path_parts_or_control_characters(sent: str, kept: str) -> None:
    assert document_name(sent) == kept


def test_a_long_name_is_shortened_keeping_its_extension() -> None:
    name = document_name("é" * 300 + ".docx")
    assert len(name) == MAX_DOCUMENT_NAME_CHARS and name.endswith("é.docx")


def test_a_configured_name_matches_the_original_name_and_the_old_safe_name() -> None:
    assert matching_names(ORIGINAL, [ORIGINAL, "other.md"]) == [ORIGINAL]
    assert matching_names(unicodedata.normalize("NFD", ORIGINAL), [ORIGINAL]) == [ORIGINAL]
    assert matching_names(ORIGINAL, [OLD_SAFE_NAME]) == [OLD_SAFE_NAME]  # stored before names were kept
    assert matching_names(OLD_SAFE_NAME, [ORIGINAL]) == [ORIGINAL]  # configured as it was shown then
    # the loose safe form only when nothing matches exactly: Zoé's SOP is not Zoë's
    assert matching_names("Zoë.md", ["Zoé.md", "Zoë.md"]) == ["Zoë.md"]
    assert matching_names("Zoë.md", ["Zoe.md"]) == []
    # nor is another document uploaded since whose storage-safe form is the same: it has a name of its own
    assert matching_names("Outbound SOP (draft).md", ["Outbound SOP [draft].md"]) == []
    assert matching_names("Outbound SOP (draft).md", ["Outbound SOP [draft].md", "Outbound SOP _draft_.md"]) == [
        "Outbound SOP _draft_.md"
    ]


def _hit(filename: str, text: str) -> SearchHit:
    return SearchHit(
        document_id=uuid.uuid4(), filename=filename, chunk_index=0, text=text, page=None, heading="3. Late", score=0.8
    )


@pytest.mark.parametrize("stored", [ORIGINAL, OLD_SAFE_NAME])
def test_threshold_sources_read_the_sop_named_by_its_original_name(stored: str) -> None:
    documents = FakeDocuments(
        hits=[
            _hit("other.md", "Late shipments must not exceed 9% of the day's orders."),
            _hit(stored, "The share of late shipments must not exceed 4% of the day's orders."),
        ]
    )
    [sourced] = thresholds_from_sops(documents, {"max_late_rate": ORIGINAL})
    assert sourced.value == 0.04 and sourced.document == stored  # cited under the name the document has


def test_a_threshold_configured_by_an_old_shown_name_is_cited_under_the_document_s_name_now() -> None:
    # Configured as 'Outbound SOP _v2_…' (as it was shown then), the passage had been cited twice: under that name,
    # which no document has any more, and under the document's own.
    documents = FakeDocuments(
        hits=[_hit(ORIGINAL, "The share of late shipments must not exceed 4% of the day's orders.")]
    )
    [sourced] = thresholds_from_sops(documents, {"max_late_rate": OLD_SAFE_NAME})
    assert sourced.value == 0.04 and sourced.document == ORIGINAL
