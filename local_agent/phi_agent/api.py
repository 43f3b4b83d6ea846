"""The Phi API calls the agent makes with its agent key: credentials vending and heartbeats."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from phi_agent import __version__
from phi_agent.logs import log_fields, redact

logger = logging.getLogger(__name__)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """The API never redirects the agent: following one would send its key (the Authorization header) to wherever
    the redirect points. A 3xx answers as the HTTP error it is."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


class ApiError(Exception):
    def __init__(self, status: int | None, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if status is None else f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def is_auth_failure(self) -> bool:
        return self.status in {401, 403}

    @property
    def key_refused(self) -> bool:
        """The API no longer knows this key: revoked, or its agent deleted. Final, unlike 403 for a disabled
        agent, which an admin can enable again."""
        return self.status == 401


class KeyRefusal:
    """Remembers the first 401 any API call of the running agent got, and tells its subscribers (the agent
    then stops as it does on SIGTERM and exits with AUTH_FAILED, rather than retrying a dead key forever)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._subscribers: list[Callable[[], None]] = []

    @property
    def reason(self) -> str | None:
        with self._lock:
            return self._reason

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)
            refused = self._reason is not None
        if refused:
            callback()

    def note(self, error: ApiError) -> None:
        if not error.key_refused:
            return
        with self._lock:
            if self._reason is not None:
                return
            self._reason = str(error)
            subscribers = list(self._subscribers)
        logger.error(
            "the Phi API refused this agent's key: it was revoked or its agent deleted; stopping "
            "(issue a new key in the console, put it in PHI_AGENT_KEY and start the agent again)",
            extra=log_fields(problem=self._reason),
        )
        for callback in subscribers:
            callback()


def _error_from_body(status: int, raw: bytes) -> ApiError:
    try:
        error = json.loads(raw)["error"]
        return ApiError(status, str(error.get("code", "error")), redact(str(error.get("message", ""))))
    except (ValueError, KeyError, TypeError, AttributeError):
        return ApiError(status, "http_error", redact(raw[:300].decode("utf-8", errors="replace")))


class ApiClient:
    def __init__(
        self,
        api_url: str,
        agent_key: str,
        timeout_seconds: float = 10,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._agent_key = agent_key
        self._timeout = timeout_seconds
        self._attempts = attempts
        self._sleep = sleep

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON; network errors and 5xx are retried with backoff, other HTTP errors raise at once."""
        last: ApiError | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                return self._post_once(path, body)
            except ApiError as error:
                if error.status is not None and error.status < 500:
                    raise
                last = error
            logger.warning(
                "API call failed; retrying",
                extra=log_fields(path=path, attempt=attempt, problem=str(last)),
            )
            if attempt < self._attempts:
                self._sleep(min(10.0, 0.5 * 2**attempt))
        assert last is not None
        raise last

    def _post_once(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self._base + path,
            data=json.dumps(body).encode("utf-8"),
            method="POST",
            headers={
                "Authorization": f"Bearer {self._agent_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"phi-agent/{__version__}",
            },
        )
        try:
            with _NO_REDIRECTS.open(request, timeout=self._timeout) as response:
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise _error_from_body(error.code, error.read()) from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise ApiError(None, "network_error", f"{self._base}{path}: {reason}") from None
        if not isinstance(payload, dict):
            raise ApiError(None, "bad_response", f"{path} answered with something other than a JSON object")
        return payload
