"""Search questions' vectors, kept per process.

A workflow asks the same questions on every run (its SOP topics: "dock appointment slots", ...), and people
repeat searches; embedding one costs a model call each time (CPU for the local model, a paid request to
OpenAI). A warm process embeds each question once per model. Bounded: `QUERY_VECTORS_KEPT` questions, the least
recently used dropped first, each vector kept as float32 (what pgvector stores anyway, so a search with a kept
vector is the search with a fresh one). Kept per organisation: a Lambda container serves many, and a question
answered faster because another organisation asked it would tell that it had."""

from __future__ import annotations

from array import array

from phi.embeddings.base import EmbeddingProvider
from phi.recently_used import RecentlyUsed

QUERY_VECTORS_KEPT = 256
# A question longer than this is embedded every time rather than kept (the API bounds a search's question
# anyway); it keeps one entry's key small next to its vector.
LONGEST_KEPT_QUESTION = 2_000


class QueryVectors:
    """A bounded, thread-safe map (scope, model, dimension, question) → vector. Vectors of different models never
    mix: the key holds the model id and dimension that documents are stored and searched under."""

    def __init__(self, kept: int = QUERY_VECTORS_KEPT) -> None:
        self._vectors: RecentlyUsed[tuple[str, str, int, str], array[float]] = RecentlyUsed(kept)

    def vector(self, embedder: EmbeddingProvider, question: str, scope: str) -> list[float]:
        """The question's vector; `scope` (the organisation) keeps one tenant's questions from answering another's."""
        key = (scope, embedder.model_id, embedder.dimension, question)
        stored = self._vectors.get(
            key, lambda: array("f", embedder.embed([question])[0]), keep=len(question) <= LONGEST_KEPT_QUESTION
        )
        return stored.tolist()  # a copy: the caller may change it

    def __len__(self) -> int:
        return len(self._vectors)


query_vectors = QueryVectors()
