"""Builds the routed provider from the settings' routing table; None means no generative model is configured."""

from __future__ import annotations

import os

from phi.llm.base import LlmProvider
from phi.llm.routing import LlmAccounting, RoutedLlm, RouteProvider
from phi.secrets import openai_api_key, secret_string
from phi.settings import LlmRoute, Settings, get_settings


def route_api_key(route: LlmRoute, settings: Settings) -> str:
    """The route's own key reference first. Without one, a route at the default endpoint (no base_url, or
    PHI_OPENAI_BASE_URL) uses the default key (PHI_OPENAI_API_KEY / _SECRET_ARN); a route elsewhere gets a
    placeholder — the default OpenAI key is never sent to another server."""
    if route.api_key_env:
        value = os.environ.get(route.api_key_env)
        if not value:
            raise RuntimeError(f"the key variable {route.api_key_env} of route {route.label} is not set")
        return value
    if route.api_key_secret_arn:
        return secret_string(route.api_key_secret_arn)
    if route.base_url is None or route.base_url == settings.openai_base_url:
        key = openai_api_key(settings)
        if key is None:
            raise RuntimeError(f"route {route.label} needs PHI_OPENAI_API_KEY (or a key reference, or a base_url)")
        return key
    return "not-needed"


def connect_route(route: LlmRoute, settings: Settings, timeout_seconds: float | None = None) -> RouteProvider:
    if route.provider == "scripted":
        from phi.llm.scripted import ScriptedProvider

        if not settings.scripted_llm_file:
            raise RuntimeError("a scripted LLM route needs PHI_SCRIPTED_LLM_FILE")
        return ScriptedProvider(settings.scripted_llm_file, model=route.model)
    from phi.llm.openai_provider import OpenAIProvider

    return OpenAIProvider(
        model=route.model,
        api_key=route_api_key(route, settings),
        base_url=route.base_url,
        timeout_seconds=min(
            t for t in (route.timeout_seconds, timeout_seconds, settings.llm_timeout_seconds) if t is not None
        ),
        temperature=settings.llm_temperature,
        max_answer_bytes=settings.llm_max_answer_bytes,
    )


def get_llm(
    settings: Settings | None = None,
    *,
    timeout_seconds: float | None = None,
    accounting: LlmAccounting | None = None,
) -> LlmProvider | None:
    """``timeout_seconds`` bounds the whole call, every fallback included (default: settings.llm_timeout_seconds
    per request); providers never retry. ``accounting`` records each call and may refuse one (phi.llm.accounting
    .DbLlmAccounting: on the caller's organisation and task)."""
    settings = settings or get_settings()
    routes = settings.llm_routing()
    if not routes:
        return None
    resolved = settings
    return RoutedLlm(
        routes,
        lambda route: connect_route(route, resolved, timeout_seconds),
        accounting=accounting,
        deadline_seconds=timeout_seconds,
    )
