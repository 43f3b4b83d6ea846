"""OpenAI embeddings over plain HTTP (httpx), for OpenAI itself or any compatible server.

The HTTP call is done here rather than through the `openai` SDK so that batching limits, retries
and backoff are ours to test, and the Lambda import stays small.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence

import httpx

from phi.embeddings.base import EmbeddingError, EmbeddingUnavailable, normalized

DEFAULT_OPENAI_MODEL = "text-embedding-3-small"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
NATIVE_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_SHORTENABLE = ("text-embedding-3-small", "text-embedding-3-large")
MAX_INPUTS_PER_REQUEST = 2048
# No tokenizer here: 3 characters per token over-counts English (~4), keeping estimates safe.
_CHARS_PER_TOKEN = 3
_MAX_TOKENS_PER_INPUT = 8191
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIEmbeddings:
    """An `EmbeddingProvider` for POST {base_url}/embeddings."""

    def __init__(
        self,
        api_key: str,
        *,
        model: str = DEFAULT_OPENAI_MODEL,
        dimensions: int | None = None,
        base_url: str | None = None,
        timeout_seconds: float = 30.0,
        max_retries: int = 5,
        max_batch_inputs: int = MAX_INPUTS_PER_REQUEST,
        max_batch_tokens: int = 250_000,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._model = model
        self._dimensions_param = dimensions if model in _SHORTENABLE else None
        resolved = dimensions or NATIVE_DIMENSIONS.get(model)
        if resolved is None:
            raise EmbeddingError(f"unknown dimension for embedding model '{model}': set PHI_EMBEDDING_DIMENSIONS")
        self._dimension = resolved
        self._max_batch_inputs = min(max_batch_inputs, MAX_INPUTS_PER_REQUEST)
        self._max_batch_tokens = max_batch_tokens
        self._max_retries = max_retries
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=(base_url or DEFAULT_BASE_URL).rstrip("/") + "/",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_seconds,
            transport=transport,
        )

    @property
    def model_id(self) -> str:
        if self._dimensions_param and self._dimensions_param != NATIVE_DIMENSIONS.get(self._model):
            return f"{self._model}@{self._dimensions_param}"
        return self._model

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for batch in batches_within_limits(texts, self._max_batch_inputs, self._max_batch_tokens):
            vectors.extend(self._embed_batch(batch))
        return vectors

    def close(self) -> None:
        self._client.close()

    def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        body: dict[str, object] = {"model": self._model, "input": batch, "encoding_format": "float"}
        if self._dimensions_param:
            body["dimensions"] = self._dimensions_param
        response = self._post_with_retries(body)
        try:
            items = sorted(response.json()["data"], key=lambda item: item["index"])
            vectors = [normalized(item["embedding"]) for item in items]
        except (ValueError, KeyError, TypeError) as error:
            raise EmbeddingUnavailable(f"malformed embeddings response: {error!r}") from error
        if len(vectors) != len(batch) or any(len(vector) != self._dimension for vector in vectors):
            raise EmbeddingError(
                f"embeddings response does not match the request: {len(vectors)} vectors for {len(batch)} "
                f"inputs, expected dimension {self._dimension}"
            )
        return vectors

    def _post_with_retries(self, body: dict[str, object]) -> httpx.Response:
        last_problem = ""
        retry_after: float | None = None
        for attempt in range(self._max_retries + 1):
            if attempt:
                self._sleep(_backoff_seconds(attempt, retry_after))
            retry_after = None
            try:
                response = self._client.post("embeddings", json=body)
            except httpx.TransportError as error:
                last_problem = f"network error: {type(error).__name__}"
                continue
            if response.status_code < 400:
                return response
            if response.status_code not in _RETRY_STATUS:
                raise EmbeddingError(f"embeddings request refused ({response.status_code}): {_error_text(response)}")
            last_problem = f"HTTP {response.status_code}: {_error_text(response)}"
            retry_after = _retry_after_seconds(response)
        raise EmbeddingUnavailable(f"embeddings failed after {self._max_retries + 1} attempts; last: {last_problem}")


def batches_within_limits(texts: Sequence[str], max_inputs: int, max_tokens: int) -> Iterator[list[str]]:
    """Consecutive batches with at most `max_inputs` texts and `max_tokens` estimated tokens each."""
    batch: list[str] = []
    batch_tokens = 0
    for text in texts:
        if not text.strip():
            raise EmbeddingError("cannot embed an empty text")
        text = _truncate_to_token_limit(text)
        tokens = estimate_tokens(text)
        if batch and (len(batch) >= max_inputs or batch_tokens + tokens > max_tokens):
            yield batch
            batch, batch_tokens = [], 0
        batch.append(text)
        batch_tokens += tokens
    if batch:
        yield batch


def estimate_tokens(text: str) -> int:
    return len(text) // _CHARS_PER_TOKEN + 1


def _truncate_to_token_limit(text: str) -> str:
    # The API refuses inputs over 8191 tokens; a query or chunk that long is cut, not refused.
    limit = (_MAX_TOKENS_PER_INPUT - 1) * _CHARS_PER_TOKEN
    return text if len(text) <= limit else text[:limit]


def _backoff_seconds(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, 60.0)
    exponential: float = min(0.5 * 2 ** (attempt - 1), 20.0)
    return exponential * (0.5 + random.random() / 2)  # jitter spreads retries of parallel ingests


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
        return str(message)[:300]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]
