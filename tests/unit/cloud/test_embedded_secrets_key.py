"""The embedded stack's KMS key for organisations' secrets (moto, in memory) is the same key after a restart:
a webhook secret encrypted before a restart still decrypts after it. Moto's KMS backend is used directly, in a region
of its own: moto's `mock_aws` would reset every backend of the process, a running test stack's included."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.kms.models import KmsBackend, kms_backends

from phi.embedded.aws import persistent_kms_key

REGION = "ap-southeast-4"  # no test stack uses it
CONTEXT = {"purpose": "webhook-signing-secret", "org_id": "org-1"}


@pytest.fixture
def backend() -> Iterator[KmsBackend]:
    kms = kms_backends[DEFAULT_ACCOUNT_ID][REGION]
    kms.reset()
    yield kms_backends[DEFAULT_ACCOUNT_ID][REGION]
    kms_backends[DEFAULT_ACCOUNT_ID][REGION].reset()


def _restart() -> KmsBackend:
    """moto's state gone, as after the stack's process ends."""
    kms_backends[DEFAULT_ACCOUNT_ID][REGION].reset()
    return kms_backends[DEFAULT_ACCOUNT_ID][REGION]


def test_the_key_survives_a_restart_and_its_file_is_the_owners_alone(tmp_path: Path, backend: KmsBackend) -> None:
    key_file = tmp_path / "kms-secrets-key.json"
    first = persistent_kms_key(key_file, REGION, "secrets")
    blob, _ = backend.encrypt(first, b"phi_whsec_example", CONTEXT)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["kms-secrets-key.json"]  # no temporary file left

    restarted = _restart()
    second = persistent_kms_key(key_file, REGION, "secrets")
    assert second == first
    plaintext, _ = restarted.decrypt(blob, CONTEXT)
    assert plaintext == b"phi_whsec_example"
    with pytest.raises(Exception, match="InvalidCiphertext"):  # the context is part of it
        restarted.decrypt(blob, {**CONTEXT, "org_id": "org-2"})


def test_another_data_folder_has_another_key(tmp_path: Path, backend: KmsBackend) -> None:
    first = persistent_kms_key(tmp_path / "a.json", REGION, "secrets")
    blob, _ = backend.encrypt(first, b"phi_whsec_example", CONTEXT)
    restarted = _restart()
    other = persistent_kms_key(tmp_path / "b.json", REGION, "secrets")
    assert other != first
    with pytest.raises(Exception, match=r"AccessDenied|InvalidCiphertext"):
        restarted.decrypt(blob, CONTEXT)


@pytest.mark.parametrize(
    "content",
    ["", "{", json.dumps({"key_id": "not-a-uuid", "material": "AAAA"}), json.dumps({"key_id": "x"}),
     json.dumps({"key_id": "6f1c2a3e-1111-4222-8333-944445555666", "material": "AAAA"})],
)  # fmt: skip
def test_a_damaged_key_file_stops_the_start_naming_the_file(tmp_path: Path, backend: KmsBackend, content: str) -> None:
    key_file = tmp_path / "kms-secrets-key.json"
    key_file.write_text(content)
    with pytest.raises(RuntimeError, match=r"kms-secrets-key\.json"):
        persistent_kms_key(key_file, REGION, "secrets")
    assert key_file.read_text() == content  # not replaced: a new key would orphan every stored secret
