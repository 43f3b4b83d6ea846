"""`POST /local-agents/heartbeat`: tells the cloud this agent is alive, what it can do and how it fares."""

from __future__ import annotations

import logging
import os
import platform
import socket
import threading
import time
from typing import Any, Literal

import psutil

from phi_agent import __version__
from phi_agent.api import ApiClient, ApiError, KeyRefusal
from phi_agent.logs import log_fields, redact

logger = logging.getLogger(__name__)
HEARTBEAT_PATH = "/local-agents/heartbeat"


class AgentState:
    """What the heartbeat reports about this process; shared between threads."""

    def __init__(self, tools: list[str]) -> None:
        self.tools = tools
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_error: str | None = None
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # primes the counter: the first real reading covers one interval

    def record_error(self, message: str) -> None:
        with self._lock:
            self._last_error = redact(message)[:1000]

    @property
    def last_error(self) -> str | None:
        with self._lock:
            return self._last_error

    def heartbeat_body(self, status: Literal["ONLINE", "OFFLINE"]) -> dict[str, Any]:
        return {
            "status": status,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "version": __version__,
            "tools": self.tools,
            "os": platform.platform(),
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "cpu_percent": self._process.cpu_percent(None),
            "memory_mb": round(self._process.memory_info().rss / (1024 * 1024), 1),
            "last_error": self.last_error,
        }


class Heartbeater:
    """Sends ONLINE every interval (the server may change it) and OFFLINE once when stopped."""

    def __init__(
        self, api: ApiClient, state: AgentState, interval_seconds: float, refusal: KeyRefusal | None = None
    ) -> None:
        self._api = api
        self._state = state
        self._interval = interval_seconds
        self._refusal = refusal
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="phi-heartbeat", daemon=True)

    def send(self, status: Literal["ONLINE", "OFFLINE"]) -> bool:
        try:
            answer = self._api.post(HEARTBEAT_PATH, self._state.heartbeat_body(status))
        except ApiError as error:
            logger.warning("heartbeat failed", extra=log_fields(status=status, problem=str(error)))
            if self._refusal is not None:
                self._refusal.note(error)
            return False
        next_seconds = answer.get("next_heartbeat_seconds")
        if isinstance(next_seconds, int | float) and next_seconds > 0:
            self._interval = float(next_seconds)
        return True

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.send("ONLINE")
            self._stop.wait(self._interval)

    def stop(self) -> None:
        """Report OFFLINE once, however often it is called."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self.send("OFFLINE")
