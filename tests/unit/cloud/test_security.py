from __future__ import annotations

import time
import uuid

import pytest

from phi.errors import Unauthorized
from phi.services import security
from phi.settings import get_settings


@pytest.fixture(autouse=True)
def jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_JWT_SECRET", "unit-test-secret-that-is-long-enough-0123456789")
    monkeypatch.setenv("PHI_JWT_TTL_SECONDS", "1")
    get_settings.cache_clear()
    security._jwt_secret.cache_clear()
    yield
    get_settings.cache_clear()
    security._jwt_secret.cache_clear()


def test_a_token_round_trips_and_then_expires() -> None:
    user_id = uuid.uuid4()
    token, ttl = security.issue_access_token(user_id)
    assert security.user_id_from_token(token) == user_id and ttl == 1
    time.sleep(2.1)
    with pytest.raises(Unauthorized, match="expired"):
        security.user_id_from_token(token)


def test_passwords_are_hashed_with_argon2() -> None:
    hashed = security.hash_password("correct horse battery")
    assert hashed.startswith("$argon2")
    assert security.verify_password(hashed, "correct horse battery")
    assert not security.verify_password(hashed, "wrong")


def test_agent_keys_are_stored_only_as_hashes() -> None:
    key, prefix, key_hash = security.new_agent_key()
    assert key.startswith(prefix) and key_hash == security.hash_agent_key(key) and key not in key_hash
