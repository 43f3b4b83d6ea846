"""Stage configuration read from CDK context."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from infra_cdk.config import Stage, cdk_json_context, stage_config

pytestmark = pytest.mark.infra


def context(values: dict[str, Any]) -> Any:
    return values.get


def test_defaults_to_dev_from_cdk_json() -> None:
    config = stage_config(cdk_json_context().get)
    assert config.stage is Stage.DEV
    assert config.agent_queue_prefix == "phi-dev-agent-"
    assert not config.agent_dlq_name.startswith(config.agent_queue_prefix)


def test_prod_requires_the_web_app_origin() -> None:
    with pytest.raises(ValidationError, match="corsAllowOrigins"):
        stage_config(context({"stage": "prod"}))
    config = stage_config(context({"stage": "prod", "corsAllowOrigins": "https://a.example, https://b.example"}))
    assert config.cors_allow_origins == ["https://a.example", "https://b.example"]
    assert config.db_multi_az and config.deletion_protection


def test_unknown_stage_is_rejected() -> None:
    with pytest.raises(ValueError, match="staging"):
        stage_config(context({"stage": "staging"}))


def test_llm_routes_are_checked_at_synth_and_their_secrets_collected() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vllm-AbCdEf"
    routes = (
        '{"default": [{"model": "gpt-4o-mini"}], "planning": [{"model": "qwen", '
        f'"base_url": "https://vllm.internal/v1", "api_key_secret_arn": "{arn}"}}, {{"model": "gpt-4o"}}]}}'
    )
    config = stage_config(context({"llmRoutes": routes}))
    assert config.llm_route_secret_arns == [arn]

    with pytest.raises(ValidationError, match="api_key_secret_arn, not api_key_env"):
        stage_config(context({"llmRoutes": '{"default": [{"model": "m", "api_key_env": "HOME"}]}'}))
    with pytest.raises(ValidationError, match="no route for profile"):
        stage_config(context({"llmRoutes": '{"analysis": [{"model": "m"}]}'}))


def test_the_xray_sdk_is_off_unless_the_context_turns_it_on() -> None:
    assert stage_config(cdk_json_context().get).xray_sdk is False
    assert stage_config(context({"xraySdk": "true"})).xray_sdk is True
