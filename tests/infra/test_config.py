"""Stage configuration read from CDK context."""

from __future__ import annotations

import json
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
    # gpt-4o-mini and gpt-4o are on OpenAI's endpoint with the default key: it is needed (below)
    config = stage_config(context({"llmRoutes": routes, "openaiApiKeySecretArn": OPENAI_KEY_ARN}))
    assert config.llm_route_secret_arns == [arn]

    with pytest.raises(ValidationError, match="api_key_secret_arn, not api_key_env"):
        stage_config(context({"llmRoutes": '{"default": [{"model": "m", "api_key_env": "HOME"}]}'}))
    with pytest.raises(ValidationError, match="no route for profile"):
        stage_config(context({"llmRoutes": '{"analysis": [{"model": "m"}]}'}))


def test_the_xray_sdk_is_off_unless_the_context_turns_it_on() -> None:
    assert stage_config(cdk_json_context().get).xray_sdk is False
    assert stage_config(context({"xraySdk": "true"})).xray_sdk is True


OPENAI_KEY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-AbCdEf"


def test_the_llm_provider_is_one_the_functions_support() -> None:
    assert stage_config(context({})).llm_provider == "none"
    with pytest.raises(ValidationError, match=r"llmProvider must be one of: none, openai \(not 'anthropic'\)"):
        stage_config(context({"llmProvider": "anthropic"}))
    with pytest.raises(ValidationError, match="llmProvider must be one of"):
        stage_config(context({"llmProvider": "scripted"}))  # the tests' provider, never deployed


def test_openai_without_a_key_is_refused_at_synth_not_at_every_cold_start() -> None:
    with pytest.raises(ValidationError, match="llmProvider=openai needs openaiApiKeySecretArn"):
        stage_config(context({"llmProvider": "openai"}))
    config = stage_config(context({"llmProvider": "openai", "openaiApiKeySecretArn": OPENAI_KEY_ARN}))
    assert config.llm_provider == "openai"


def test_llm_routes_on_the_default_endpoint_need_the_openai_key() -> None:
    """A route with no key reference and no base_url uses the default OpenAI key (phi.settings.requirements_for)."""
    own_key = "arn:aws:secretsmanager:us-east-1:123456789012:secret:vllm-AbCdEf"
    self_contained = json.dumps(
        {"default": [{"model": "qwen", "base_url": "https://vllm.internal/v1", "api_key_secret_arn": own_key}]}
    )
    assert stage_config(context({"llmRoutes": self_contained})).llm_route_secret_arns == [own_key]
    with pytest.raises(ValidationError, match="needs openaiApiKeySecretArn"):
        stage_config(context({"llmRoutes": '{"default": [{"model": "gpt-4o-mini"}]}'}))
    assert stage_config(
        context({"llmRoutes": '{"default": [{"model": "gpt-4o-mini"}]}', "openaiApiKeySecretArn": OPENAI_KEY_ARN})
    )
