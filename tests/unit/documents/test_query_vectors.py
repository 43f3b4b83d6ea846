"""Search questions' vectors kept per process (phi.embeddings.query_vectors): each question embedded once per
model, bounded, least recently used dropped first, vectors as pgvector stores them (float32)."""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence

import pytest

from phi.embeddings.query_vectors import LONGEST_KEPT_QUESTION, QueryVectors

ORG = "org-1"


class RecordingEmbedder:
    def __init__(self, model_id: str = "recording-4", dimension: int = 4) -> None:
        self.model_id = model_id
        self.dimension = dimension
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.asked.extend(texts)
        return [[0.1 * len(text), 1 / 3, float(sum(map(ord, text)) % 11), 0.7] for text in texts]


def test_a_question_is_embedded_once_and_answers_the_same_vector() -> None:
    kept, embedder = QueryVectors(), RecordingEmbedder()
    first = kept.vector(embedder, "dock appointment slots", ORG)
    first.append(99.0)  # a caller's copy: changing it changes nothing kept
    second = kept.vector(embedder, "dock appointment slots", ORG)
    assert embedder.asked == ["dock appointment slots"]
    assert second == first[:-1]
    fresh = embedder.embed(["dock appointment slots"])[0]
    assert second == array("f", fresh).tolist()  # float32, as pgvector stores it
    assert second[1] == pytest.approx(1 / 3, rel=1e-7) and second[1] != 1 / 3


def test_vectors_of_different_models_or_dimensions_never_mix() -> None:
    kept = QueryVectors()
    small, large, other = RecordingEmbedder(), RecordingEmbedder(dimension=8), RecordingEmbedder("another-4")
    for embedder in (small, large, other, small, large, other):
        kept.vector(embedder, "cycle count", ORG)
    assert [small.asked, large.asked, other.asked] == [["cycle count"]] * 3
    assert len(kept) == 3


def test_the_least_recently_used_question_is_dropped_beyond_the_bound() -> None:
    kept, embedder = QueryVectors(kept=2), RecordingEmbedder()
    kept.vector(embedder, "a", ORG)
    kept.vector(embedder, "b", ORG)
    kept.vector(embedder, "a", ORG)  # "a" is now the most recent
    kept.vector(embedder, "c", ORG)  # drops "b"
    assert len(kept) == 2
    kept.vector(embedder, "a", ORG)
    kept.vector(embedder, "b", ORG)
    assert embedder.asked == ["a", "b", "c", "b"]


def test_a_very_long_question_is_embedded_every_time_and_not_kept() -> None:
    kept, embedder = QueryVectors(), RecordingEmbedder()
    question = "x" * (LONGEST_KEPT_QUESTION + 1)
    assert kept.vector(embedder, question, ORG) == kept.vector(embedder, question, ORG)
    assert len(embedder.asked) == 2 and len(kept) == 0


def test_a_failing_embedding_keeps_nothing_and_the_next_call_tries_again() -> None:
    class Flaky(RecordingEmbedder):
        fail = True

        def embed(self, texts: Sequence[str]) -> list[list[float]]:
            if self.fail:
                raise RuntimeError("model unavailable")
            return super().embed(texts)

    kept, embedder = QueryVectors(), Flaky()
    with pytest.raises(RuntimeError):
        kept.vector(embedder, "pick rate", ORG)
    embedder.fail = False
    assert kept.vector(embedder, "pick rate", ORG) and embedder.asked == ["pick rate"]


def test_threads_asking_at_once_each_get_their_own_question_s_vector() -> None:
    kept, embedder = QueryVectors(kept=8), RecordingEmbedder()
    questions = [f"question {n}" for n in range(16)]
    expected = {q: array("f", embedder.embed([q])[0]).tolist() for q in questions}
    answers: dict[str, list[list[float]]] = {q: [] for q in questions}

    def ask(offset: int) -> None:
        for n in range(64):
            question = questions[(n + offset) % len(questions)]
            answers[question].append(kept.vector(embedder, question, ORG))

    threads = [threading.Thread(target=ask, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(vector == expected[q] for q, vectors in answers.items() for vector in vectors)
    assert len(kept) <= 8


def test_one_organisation_s_question_never_answers_another_s() -> None:
    kept, embedder = QueryVectors(), RecordingEmbedder()
    kept.vector(embedder, "planned layoffs", "org-1")
    kept.vector(embedder, "planned layoffs", "org-2")
    kept.vector(embedder, "planned layoffs", "org-1")
    assert embedder.asked == ["planned layoffs", "planned layoffs"]


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        QueryVectors(kept=0)
