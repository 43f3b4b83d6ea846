from __future__ import annotations

import hashlib
import itertools
import re

import pytest

from phi.documents.chunking import MAX_PIECES_PER_CHUNK, MIN_PIECE_WORDS, chunk, chunk_pieces
from phi.documents.models import Block, Chunk, ExtractedDocument, Page

SENTENCE = "The loader scans each pallet onto the trailer before the doors close. "


def paragraph(text: str) -> Block:
    return Block(kind="paragraph", text=text)


def heading(text: str, level: int = 1) -> Block:
    return Block(kind="heading", text=text, level=level)


def doc(*pages: list[Block], paged: bool = True) -> ExtractedDocument:
    return ExtractedDocument(
        format="pdf" if paged else "md",
        pages=[Page(number=i + 1 if paged else None, blocks=blocks) for i, blocks in enumerate(pages)],
    )


def words_of(text: str) -> set[str]:
    return set(re.findall(r"\S+", text))


def test_short_document_is_one_chunk_with_hash() -> None:
    chunks = chunk(doc([paragraph("Only one short paragraph.")]))

    assert len(chunks) == 1
    assert chunks[0].index == 0
    assert chunks[0].page == 1
    assert chunks[0].heading is None
    assert chunks[0].content_hash == hashlib.sha256(b"Only one short paragraph.").hexdigest()


def test_headings_start_new_chunks_and_are_recorded() -> None:
    chunks = chunk(
        doc(
            [
                heading("Receiving"),
                paragraph("Check the seal."),
                heading("Shipping"),
                paragraph("Wrap pallets."),
            ]
        )
    )

    assert [(c.heading, c.text) for c in chunks] == [
        ("Receiving", "Receiving\n\nCheck the seal."),
        ("Shipping", "Shipping\n\nWrap pallets."),
    ]


def test_long_text_respects_sizes_and_never_cuts_words() -> None:
    paragraphs = [paragraph((SENTENCE * n).strip()) for n in (3, 9, 2, 14, 5, 1, 6)]
    original_words = words_of(" ".join(p.text for p in paragraphs))

    chunks = chunk(doc(paragraphs), min_chars=500, max_chars=1000, overlap_chars=120)

    assert len(chunks) > 3
    assert all(len(c.text) <= 1000 for c in chunks)
    assert all(len(c.text) >= 500 for c in chunks[:-1])
    for c in chunks:
        assert words_of(c.text) <= original_words, "a word was cut"


def test_paragraph_boundaries_are_preferred_cuts() -> None:
    first, second = "A" * 300 + ".", "B" * 300 + "."
    blocks = [paragraph(f"{first} {second}") for _ in range(1)] + [paragraph("C " * 200)]

    chunks = chunk(doc(blocks), min_chars=200, max_chars=700, overlap_chars=0)

    assert chunks[0].text == f"{first} {second}"


def test_overlap_carries_the_end_of_the_previous_chunk_on_a_sentence_boundary() -> None:
    text = "".join(f"Rule {i} says scan every pallet label twice. " for i in range(60)).strip()

    chunks = chunk(doc([paragraph(text)]), min_chars=300, max_chars=600, overlap_chars=120)

    assert len(chunks) >= 3
    for previous, current in itertools.pairwise(chunks):
        overlap = current.text.split("\n\n")[0]
        assert previous.text.endswith(overlap)
        assert 0 < len(overlap) <= 120
        assert overlap.startswith("Rule "), "overlap should start at a sentence"


def test_no_overlap_across_sections() -> None:
    chunks = chunk(
        doc([heading("One"), paragraph(SENTENCE * 20), heading("Two"), paragraph("Short.")]),
        min_chars=500,
        max_chars=1000,
    )

    assert chunks[-1].text == "Two\n\nShort."
    assert chunks[-1].heading == "Two"
    assert all(c.heading == "One" for c in chunks[:-1])


def test_page_is_where_the_chunks_own_text_starts() -> None:
    pages = [[paragraph(f"Page {n}. " + SENTENCE * 6)] for n in range(1, 5)]

    chunks = chunk(doc(*pages), min_chars=300, max_chars=600, overlap_chars=100)

    for c in chunks:
        own_text = c.text.split("\n\n", 1)[-1] if c.index else c.text
        first_page_marker = re.search(r"Page (\d)\.", own_text)
        if first_page_marker and own_text.startswith("Page"):
            assert c.page == int(first_page_marker.group(1))
    assert chunks[0].page == 1
    assert chunks[-1].page == 4


def test_non_paged_documents_have_no_page() -> None:
    assert chunk(doc([paragraph("Text.")], paged=False))[0].page is None


def test_a_word_longer_than_a_chunk_is_the_only_hard_cut() -> None:
    chunks = chunk(doc([paragraph("x" * 2500)]), min_chars=500, max_chars=1000, overlap_chars=0)

    assert "".join(c.text for c in chunks) == "x" * 2500
    assert all(len(c.text) <= 1000 for c in chunks)


def test_chunking_is_deterministic() -> None:
    document = doc([heading("A"), paragraph(SENTENCE * 30)], [paragraph(SENTENCE * 7)])

    assert chunk(document) == chunk(document)


def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap_chars < min_chars"):
        chunk(doc([paragraph("x")]), min_chars=100, max_chars=1000, overlap_chars=100)


def test_a_heading_without_text_joins_the_section_that_follows() -> None:
    chunks = chunk(
        doc(
            [
                heading("Receiving"),
                heading("Dock booking", 2),
                paragraph("Inbound trucks book a dock slot 24 hours ahead."),
                heading("Seals", 2),
                paragraph("The clerk checks the seal number."),
                heading("Appendix"),
            ]
        )
    )

    assert [c.heading for c in chunks] == ["Receiving > Dock booking", "Seals"]
    assert chunks[0].text.startswith("Receiving\n\nDock booking\n\nInbound trucks")
    assert chunks[1].text.endswith("seal number.\n\nAppendix")  # a trailing title joins the last section
    assert not any(c.text in ("Receiving", "Appendix") for c in chunks)


def test_heading_only_chunks_remain_when_merging_is_off() -> None:
    chunks = chunk(
        doc([heading("Receiving"), heading("Dock booking", 2), paragraph("Book a slot.")]), merge_heading_only=False
    )

    assert [c.text for c in chunks] == ["Receiving", "Dock booking\n\nBook a slot."]


def test_pieces_are_the_sentences_of_a_chunk_without_its_heading_lines() -> None:
    [item] = chunk(
        doc(
            [
                heading("Receiving"),
                heading("Seal check", level=2),
                paragraph("The clerk checks the seal number. A broken seal is photographed!\nIs it reported? Yes."),
            ],
            paged=False,
        )
    )

    assert item.heading == "Receiving > Seal check"
    assert chunk_pieces(item) == [
        "The clerk checks the seal number.",
        "A broken seal is photographed!",
        "Is it reported? Yes.",  # a sentence under MIN_PIECE_WORDS words joins its neighbour
    ]
    assert chunk_pieces(item) == chunk_pieces(item)


def test_a_heading_only_chunk_has_no_pieces_and_a_short_text_is_one() -> None:
    assert chunk_pieces(Chunk(index=0, text="Returns", page=None, heading="Returns", content_hash="x")) == []
    assert chunk_pieces(Chunk(index=0, text="See 4.2.", page=None, heading=None, content_hash="x")) == ["See 4.2."]


def test_a_chunk_of_many_sentences_has_at_most_the_maximum_of_pieces_in_reading_order() -> None:
    sentences = [f"Step {n} is done by the operator on duty." for n in range(30)]
    item = Chunk(index=0, text=" ".join(sentences), page=None, heading=None, content_hash="x")

    pieces = chunk_pieces(item)

    assert len(pieces) == MAX_PIECES_PER_CHUNK - 2  # 30 sentences in windows of 3
    assert " ".join(pieces) == item.text
    assert pieces[0] == " ".join(sentences[:3])
    assert min(len(piece.split()) for piece in pieces) >= MIN_PIECE_WORDS
