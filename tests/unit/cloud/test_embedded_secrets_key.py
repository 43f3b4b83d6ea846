"""The embedded stack's KMS key for organisations' secrets (moto, in memory) is the same key after a restart:
a webhook secret encrypted before a restart still decrypts after it."""

from __future__ import annotations

import stat
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from phi.embedded.aws import persistent_kms_key

REGION = "us-east-1"
CONTEXT = {"purpose": "webhook-signing-secret", "org_id": "org-1"}


def _encrypt(key_arn: str, text: bytes) -> bytes:
    kms = boto3.client("kms", region_name=REGION)
    return bytes(kms.encrypt(KeyId=key_arn, Plaintext=text, EncryptionContext=CONTEXT)["CiphertextBlob"])


def _decrypt(key_arn: str, blob: bytes) -> bytes:
    kms = boto3.client("kms", region_name=REGION)
    return bytes(kms.decrypt(CiphertextBlob=blob, KeyId=key_arn, EncryptionContext=CONTEXT)["Plaintext"])


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "embedded")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "embedded")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def test_the_key_survives_a_restart_and_its_file_is_the_owners_alone(tmp_path: Path) -> None:
    key_file = tmp_path / "kms-secrets-key.json"
    with mock_aws():  # the first start
        first = persistent_kms_key(key_file, REGION, "secrets")
        blob = _encrypt(first, b"phi_whsec_example")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with mock_aws():  # moto's state is gone, as after a restart
        second = persistent_kms_key(key_file, REGION, "secrets")
        assert second == first
        assert _decrypt(second, blob) == b"phi_whsec_example"


def test_another_data_folder_has_another_key(tmp_path: Path) -> None:
    with mock_aws():
        first = persistent_kms_key(tmp_path / "a.json", REGION, "secrets")
        blob = _encrypt(first, b"phi_whsec_example")
    with mock_aws():
        other = persistent_kms_key(tmp_path / "b.json", REGION, "secrets")
        assert other != first
        with pytest.raises(Exception, match=r"AccessDenied|InvalidCiphertext|IncorrectKey"):
            _decrypt(other, blob)
