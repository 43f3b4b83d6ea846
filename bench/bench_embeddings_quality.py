"""Retrieval quality of the offline embedding candidates on a labelled warehouse SOP set.

    python bench/bench_embeddings_quality.py

Data: bench/data/sop_passages.jsonl (64 SOP-like passages) and bench/data/sop_queries.jsonl
(56 queries with their relevant passages; 'paraphrase' queries avoid the passage's key words).
Prints recall@1, recall@5, MRR (overall and for paraphrase queries), load time and throughput for
every candidate whose package is installed, plus a hashed bag-of-words baseline.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from phi.embeddings.base import EmbeddingError, EmbeddingProvider
from phi.embeddings.local import LOCAL_MODELS, LocalEmbeddings

DATA = Path(__file__).resolve().parent / "data"


class Passage(BaseModel):
    id: str
    text: str


class LabelledQuery(BaseModel):
    query: str
    relevant: list[str]
    kind: str


class Scores(BaseModel):
    recall_at_1: float
    recall_at_5: float
    mrr: float


class CandidateResult(BaseModel):
    name: str
    dimension: int
    load_seconds: float
    passages_per_second: float
    all_queries: Scores
    paraphrases: Scores


class HashedBagOfWords:
    """Baseline: lower-cased word counts hashed into 4096 signed buckets. No semantics at all."""

    model_id = "hashed-bag-of-words-4096"
    dimension = 4096

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        matrix = np.zeros((len(texts), self.dimension))
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
                matrix[row, digest % self.dimension] += 1.0 if digest & (1 << 63) else -1.0
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        rows: list[list[float]] = (matrix / norms).tolist()
        return rows


def load_data() -> tuple[list[Passage], list[LabelledQuery]]:
    passages = [Passage.model_validate_json(line) for line in (DATA / "sop_passages.jsonl").read_text().splitlines()]
    queries = [
        LabelledQuery.model_validate_json(line) for line in (DATA / "sop_queries.jsonl").read_text().splitlines()
    ]
    known = {passage.id for passage in passages}
    for query in queries:
        unknown = set(query.relevant) - known
        if unknown:
            raise SystemExit(f"query {query.query!r} names unknown passages {unknown}")
    return passages, queries


def score(rankings: list[list[str]], queries: list[LabelledQuery]) -> Scores:
    recall_1, recall_5, reciprocal_ranks = [], [], []
    for ranking, query in zip(rankings, queries, strict=True):
        relevant = set(query.relevant)
        recall_1.append(1.0 if ranking[0] in relevant else 0.0)  # hit@1: the top result is relevant
        recall_5.append(len(relevant & set(ranking[:5])) / len(relevant))
        first = next((rank for rank, pid in enumerate(ranking, start=1) if pid in relevant), None)
        reciprocal_ranks.append(1.0 / first if first else 0.0)
    return Scores(
        recall_at_1=float(np.mean(recall_1)),
        recall_at_5=float(np.mean(recall_5)),
        mrr=float(np.mean(reciprocal_ranks)),
    )


def evaluate(
    name: str, provider: EmbeddingProvider, passages: list[Passage], queries: list[LabelledQuery]
) -> CandidateResult:
    started = time.perf_counter()
    provider.embed(["warm-up"])  # first call imports and loads the model
    load_seconds = time.perf_counter() - started

    texts = [passage.text for passage in passages]
    repeats = 5
    started = time.perf_counter()
    for _ in range(repeats):
        passage_vectors = np.asarray(provider.embed(texts))
    passages_per_second = repeats * len(texts) / (time.perf_counter() - started)

    query_vectors = np.asarray(provider.embed([query.query for query in queries]))
    similarity = query_vectors @ passage_vectors.T
    ids = [passage.id for passage in passages]
    rankings = [[ids[i] for i in np.argsort(-row)] for row in similarity]
    paraphrase_positions = [i for i, query in enumerate(queries) if query.kind == "paraphrase"]
    return CandidateResult(
        name=name,
        dimension=provider.dimension,
        load_seconds=load_seconds,
        passages_per_second=passages_per_second,
        all_queries=score(rankings, queries),
        paraphrases=score([rankings[i] for i in paraphrase_positions], [queries[i] for i in paraphrase_positions]),
    )


def print_table(results: list[CandidateResult], query_count: int, paraphrase_count: int) -> None:
    print(f"{query_count} queries ({paraphrase_count} paraphrases) over 64 passages\n")
    header = (
        f"{'model':<28}{'dim':>6}{'R@1':>7}{'R@5':>7}{'MRR':>7}{'para R@1':>10}{'para R@5':>10}"
        f"{'para MRR':>10}{'load s':>9}{'passages/s':>12}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        overall, para = result.all_queries, result.paraphrases
        print(
            f"{result.name:<28}{result.dimension:>6}{overall.recall_at_1:>7.3f}{overall.recall_at_5:>7.3f}"
            f"{overall.mrr:>7.3f}{para.recall_at_1:>10.3f}{para.recall_at_5:>10.3f}{para.mrr:>10.3f}"
            f"{result.load_seconds:>9.2f}{result.passages_per_second:>12.0f}"
        )


def main() -> None:
    passages, queries = load_data()
    candidates: list[tuple[str, EmbeddingProvider]] = [("hashed-bag-of-words (baseline)", HashedBagOfWords())]
    candidates += [(model_id, LocalEmbeddings(model_id)) for model_id in LOCAL_MODELS]
    results = []
    for name, provider in candidates:
        try:
            results.append(evaluate(name, provider, passages, queries))
        except EmbeddingError as error:
            print(f"skipped {name}: {error}")
    paraphrase_count = sum(query.kind == "paraphrase" for query in queries)
    print_table(results, len(queries), paraphrase_count)


if __name__ == "__main__":
    main()
