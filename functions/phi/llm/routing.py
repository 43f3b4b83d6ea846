"""The routing table at work: each purpose has an ordered list of routes (provider + model), tried in order.

A transient failure of one route (phi.llm.failures: connection, timeout, 408, 429, 5xx) falls through to the next;
any other failure (a 4xx: bad request, bad key, unknown model) surfaces at once. When every route failed the call
raises LlmRoutesFailed, itself transient, so the one retry layer (phi.workflows.retry) may try the chain again.
Every attempt, answered or failed, is reported to the accounting (tokens, latency, route); before the first
attempt the accounting may refuse the call (an organisation's spent monthly token budget)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from phi.domain.models import LlmCall
from phi.llm.base import ChatMessage, LlmResponse, Purpose
from phi.llm.failures import describe, is_transient
from phi.settings import LlmRoute, LlmRoutingTable


class RouteProvider(Protocol):
    """A provider bound to one route; the router passes the time left of its deadline."""

    def chat(
        self,
        messages: list[ChatMessage],
        *,
        purpose: Purpose,
        json_schema: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
    ) -> LlmResponse: ...


class LlmAccounting(Protocol):
    def before_call(self, purpose: Purpose) -> None:
        """Raises (phi.errors.LlmBudgetExhausted) when no new LLM work may start."""

    def record(self, call: LlmCall) -> None: ...


class LlmRoutesFailed(ConnectionError):
    """Every route of a purpose failed transiently (a ConnectionError, so the retry layer treats it as transient)."""

    def __init__(self, purpose: str, failures: list[str]) -> None:
        super().__init__(f"no LLM route for {purpose} answered: " + "; ".join(failures))
        self.purpose = purpose
        self.failures = failures


class RouteUnavailable(ConnectionError):
    """A route could not be set up (e.g. its key could not be read): that route's failure, the next one may work."""


class RoutedLlm:
    name = "routed"

    def __init__(
        self,
        routes: LlmRoutingTable,
        connect: Callable[[LlmRoute], RouteProvider],
        *,
        accounting: LlmAccounting | None = None,
        deadline_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._routes = routes
        self._connect = connect
        self._providers: dict[LlmRoute, RouteProvider] = {}
        self.accounting = accounting
        self._deadline_seconds = deadline_seconds
        self._clock = clock

    def routes_for(self, purpose: Purpose) -> list[LlmRoute]:
        return list(self._routes.get(purpose) or [])

    def _provider(self, route: LlmRoute) -> RouteProvider:
        if route not in self._providers:
            try:
                self._providers[route] = self._connect(route)
            except (ConnectionError, TimeoutError, RuntimeError):  # RuntimeError: a configuration gap, said as is
                raise
            except Exception as exc:
                raise RouteUnavailable(f"{route.label} could not be set up: {describe(exc)}") from exc
        return self._providers[route]

    def chat(
        self, messages: list[ChatMessage], *, purpose: Purpose, json_schema: dict[str, Any] | None = None
    ) -> LlmResponse:
        routes = self.routes_for(purpose)
        if not routes:
            raise RuntimeError(f"no LLM route is configured for {purpose}")
        if self.accounting is not None:
            self.accounting.before_call(purpose)
        started = self._clock()
        failures: list[str] = []
        for attempt, route in enumerate(routes, start=1):
            timeout = None
            if self._deadline_seconds is not None:
                timeout = self._deadline_seconds - (self._clock() - started)
                if timeout <= 0:
                    failures.append(f"{route.label}: not tried, the {self._deadline_seconds:g} s budget was spent")
                    break
            t0 = self._clock()
            try:
                response = self._provider(route).chat(
                    messages, purpose=purpose, json_schema=json_schema, timeout_seconds=timeout
                )
            except Exception as exc:
                self._record(purpose, route, attempt, t0, error=describe(exc))
                if not is_transient(exc):
                    raise
                failures.append(f"{route.label}: {describe(exc)}")
                _log_fallthrough(purpose, route, exc, attempt < len(routes))
                continue
            self._record(purpose, route, attempt, t0, response=response)
            return response
        raise LlmRoutesFailed(purpose, failures)

    def _record(
        self,
        purpose: Purpose,
        route: LlmRoute,
        attempt: int,
        t0: float,
        *,
        response: LlmResponse | None = None,
        error: str | None = None,
    ) -> None:
        if self.accounting is None:
            return
        call = LlmCall(
            purpose=purpose,
            route=route.label,
            model=route.model,
            attempt=attempt,
            ok=response is not None,
            error=error,
            prompt_tokens=response.prompt_tokens if response else 0,
            completion_tokens=response.completion_tokens if response else 0,
            latency_ms=max(0, round((self._clock() - t0) * 1000)),
        )
        try:
            self.accounting.record(call)
        except Exception:  # an answer the model gave (and the organisation paid for) is not thrown away
            from phi.log import logger

            logger.exception("could not record an LLM call", extra={"route": route.label, "purpose": purpose})


def _log_fallthrough(purpose: Purpose, route: LlmRoute, exc: BaseException, has_next: bool) -> None:
    from phi.log import logger

    logger.warning(
        "LLM route failed" + (", trying the next one" if has_next else ", no route left"),
        extra={"purpose": purpose, "route": route.label, "failure": describe(exc)},
    )
