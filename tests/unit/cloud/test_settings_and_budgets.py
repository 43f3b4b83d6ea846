"""Each handler validates its settings at cold start; every outbound call inside an API request has a budget."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import SecretStr, ValidationError

from phi import names
from phi.aws import boto_config, call_budget_seconds
from phi.llm.base import ChatMessage, LlmResponse, Purpose
from phi.llm.openai_provider import OpenAIProvider
from phi.services import profiles
from phi.settings import HANDLER_REQUIREMENTS, MissingSettingError, Settings

REPO_ROOT = Path(__file__).resolve().parents[3]
FUNCTIONS = REPO_ROOT / "functions"
DATABASE = {"PHI_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/phi"}


def clean_environment(**variables: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PHI_", "AWS_", "POWERTOOLS_"))}
    return {**keep, "AWS_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true", **variables}


def import_handler(service: names.Service, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A cold start: a fresh interpreter importing the handler module with exactly this environment."""
    return subprocess.run(
        [sys.executable, "-c", f"import {service.module}"],
        env={**environment, "PYTHONPATH": str(FUNCTIONS)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_handler_has_its_requirements() -> None:
    assert set(HANDLER_REQUIREMENTS) == set(names.Service)


def test_a_handler_missing_a_variable_fails_its_cold_start_naming_it() -> None:
    result = import_handler(names.Service.START_TASK, clean_environment())
    assert result.returncode != 0
    assert "MissingSettingError" in result.stderr
    assert "PHI_DATABASE_URL or PHI_DB_SECRET_ARN + PHI_DB_HOST" in result.stderr


def test_the_api_cannot_start_without_its_state_machine() -> None:
    environment = clean_environment(
        **DATABASE,
        PHI_JWT_SECRET="x" * 32,
        PHI_DOCUMENTS_BUCKET="b",
        PHI_SCHEDULER_GROUP="g",
        PHI_SCHEDULER_ROLE_ARN="arn:aws:iam::1:role/s",
        PHI_AGENT_ROLE_ARN="arn:aws:iam::1:role/a",
        PHI_SECRETS_KEY_ARN="arn:aws:kms:us-east-1:1:key/k",
    )
    result = import_handler(names.Service.API, environment)
    assert result.returncode != 0
    assert "missing configuration: set PHI_STATE_MACHINE_ARN" in result.stderr
    assert import_handler(names.Service.API, {**environment, "PHI_STATE_MACHINE_ARN": "arn:sm"}).returncode == 0


def test_a_configured_handler_starts() -> None:
    result = import_handler(names.Service.FINISH_TASK, clean_environment(**DATABASE))
    assert result.returncode == 0, result.stderr[-2000:]


def test_requirements_name_every_missing_variable_and_accept_either_alternative() -> None:
    # Explicit values win over the environment (an embedded stack started by other tests sets PHI_* variables)
    settings = Settings(  # type: ignore[call-arg]
        db_secret_arn="arn:secret", database_url=None, db_host=None, documents_bucket=None, secrets_key_arn=None
    )
    with pytest.raises(MissingSettingError) as raised:
        settings.require(HANDLER_REQUIREMENTS[names.Service.THINK])
    assert str(raised.value) == (
        "missing configuration: set PHI_DATABASE_URL or PHI_DB_SECRET_ARN + PHI_DB_HOST; PHI_DOCUMENTS_BUCKET; "
        "PHI_SECRETS_KEY_ARN"
    )
    complete = Settings(db_secret_arn="arn:secret", db_host="proxy", documents_bucket="b", secrets_key_arn="k")  # type: ignore[call-arg]
    assert complete.require(HANDLER_REQUIREMENTS[names.Service.THINK]) is complete


def test_settings_are_read_from_phi_variables_whatever_their_case_and_values_passed_in_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PHI_MAX_STEPS", "7")
    monkeypatch.setenv("phi_tool_timeout_seconds", "90")  # names match without regard to case
    monkeypatch.setenv("PHI_XRAY_SDK", "true")
    monkeypatch.setenv("PHI_JWT_SECRET", "from-the-environment")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")  # a field with a variable of its own
    monkeypatch.setenv("PHI_REGION", "us-west-1")  # ... is not read under the prefix
    monkeypatch.setenv("PHI_NOT_A_SETTING", "x")  # ignored
    settings = Settings()  # type: ignore[call-arg]
    assert (settings.max_steps, settings.tool_timeout_seconds, settings.xray_sdk) == (7, 90, True)
    assert settings.region == "eu-west-2"
    assert settings.jwt_secret is not None and settings.jwt_secret.get_secret_value() == "from-the-environment"
    assert "from-the-environment" not in repr(settings)
    overridden = Settings(max_steps=3, region="ap-south-1", jwt_secret=None)  # type: ignore[call-arg]
    assert (overridden.max_steps, overridden.region, overridden.jwt_secret) == (3, "ap-south-1", None)
    assert overridden.tool_timeout_seconds == 90  # the rest still from the environment


def test_every_setting_is_one_value_an_environment_variable_can_hold_as_text() -> None:
    """The settings model reads each variable as text for pydantic to convert: a list or a mapping would need
    decoding first (phi.settings._environment_values), so none may be declared."""
    scalars = {str, int, float, bool, SecretStr, type(None)}
    for name, field in Settings.model_fields.items():
        members = (
            get_args(field.annotation) if get_origin(field.annotation) in (Union, UnionType) else (field.annotation,)
        )
        for member in members:
            assert member in scalars or get_origin(member) is Literal, f"{name}: {field.annotation}"


def test_a_bad_setting_is_refused_naming_the_field_but_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHI_DB_POOL_MAX", "postgresql://user:hunter2@db/phi")  # a DSN pasted in the wrong place
    with pytest.raises(ValidationError) as raised:
        Settings()  # type: ignore[call-arg]
    assert "db_pool_max" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_a_required_value_read_where_it_is_used_names_its_variable() -> None:
    with pytest.raises(MissingSettingError, match="PHI_STATE_MACHINE_ARN"):
        Settings(state_machine_arn=None).required("state_machine_arn")  # type: ignore[call-arg]


def test_an_aws_call_fits_in_the_api_integration_timeout_with_one_retry_layer() -> None:
    settings = Settings()  # type: ignore[call-arg]
    budget = call_budget_seconds(settings)
    assert budget == 3 * (2 + 5) + 1 + 2
    assert budget < names.API_INTEGRATION_TIMEOUT_SECONDS
    config = boto_config(settings)
    assert config.retries == {"mode": "standard", "max_attempts": 3}
    assert (config.connect_timeout, config.read_timeout) == (2.0, 5.0)


def test_the_llm_client_never_retries_and_takes_the_callers_timeout() -> None:
    settings = Settings(llm_provider="openai", openai_api_key="k")  # type: ignore[call-arg]
    provider = OpenAIProvider(model="m", api_key="k", base_url=None, timeout_seconds=7.5, temperature=0.2)
    client: Any = provider._client
    assert client.max_retries == 0
    assert client.timeout == 7.5
    assert settings.profile_llm_budget_seconds < names.API_INTEGRATION_TIMEOUT_SECONDS


class BlockedLlm:
    """An LLM that answers only when released: slower than any budget."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def chat(
        self, messages: list[ChatMessage], *, purpose: Purpose, json_schema: dict[str, Any] | None = None
    ) -> LlmResponse:
        self.release.wait(60)
        return LlmResponse(text="{}", model="slow", prompt_tokens=0, completion_tokens=0)


def test_profile_generation_past_its_budget_raises_instead_of_waiting() -> None:
    llm = BlockedLlm()
    context = profiles.ProfileContext(agent_name="A", industry=None, role=None, tools=[], sources=[])
    try:
        with pytest.raises(profiles.ProfileBudgetExceeded, match=r"did not answer within 0\.05 s"):
            profiles.llm_profile_within(0.05, llm, context)
    finally:
        llm.release.set()


def test_openai_embeddings_without_a_key_fail_the_cold_start_of_ingest() -> None:
    result = import_handler(
        names.Service.INGEST, clean_environment(**DATABASE, PHI_DOCUMENTS_BUCKET="b", PHI_EMBEDDING_PROVIDER="openai")
    )
    assert result.returncode != 0
    assert "PHI_OPENAI_API_KEY or PHI_OPENAI_API_KEY_SECRET_ARN or PHI_OPENAI_BASE_URL" in result.stderr
