"""A thin HTTP client for the tests: the API as a web app would use it."""

from __future__ import annotations

import time
from typing import Any

import httpx


class ApiSession:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.token: str | None = None
        self.org_id: str | None = None
        self.client = httpx.Client(base_url=base_url, timeout=120)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.status_code < 400, f"{method} {path} → {response.status_code} {response.text}"
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def sign_up(self, email: str, password: str = "test-password-123") -> dict[str, Any]:
        body = self.ok("POST", "/auth/signup", json={"email": email, "password": password, "full_name": "Test"})
        self.token = body["access_token"]
        return body

    def create_org(self, name: str) -> str:
        self.org_id = self.ok("POST", "/orgs", json={"name": name})["id"]
        return self.org_id

    def create_agent(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": "Warehouse analyst",
            "industry_key": "logistics",
            "role_key": "warehouse_analyst",
            "tools": {"db": {"url_env": "PHI_WAREHOUSE_DB_URL"}},
            **overrides,
        }
        return self.ok("POST", f"/orgs/{self.org_id}/agents", json=body)

    def wait_for_tasks(self, task_ids: list[str], stall_timeout: float = 300) -> dict[str, dict[str, Any]]:
        """Every task's final state. Bounded by progress, not by a budget for the whole batch: it fails only when
        no task has finished for `stall_timeout` seconds, however slow the machine is."""
        finished: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + stall_timeout
        while len(finished) < len(task_ids):
            for task_id in task_ids:
                if task_id not in finished:
                    task: dict[str, Any] = self.ok("GET", f"/tasks/{task_id}?history=false")
                    if task["status"] in {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"}:
                        finished[task_id] = self.ok("GET", f"/tasks/{task_id}")
                        deadline = time.monotonic() + stall_timeout
            if len(finished) < len(task_ids):
                if time.monotonic() > deadline:
                    pending = [t for t in task_ids if t not in finished]
                    raise AssertionError(f"no task finished for {stall_timeout}s; still running: {pending}")
                time.sleep(0.5)
        return finished

    def wait_for_task(self, task_id: str, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            task: dict[str, Any] = self.ok("GET", f"/tasks/{task_id}?history=false")  # one history, at the end
            if task["status"] in {"SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"}:
                return dict(self.ok("GET", f"/tasks/{task_id}"))
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {task['status']} after {timeout}s: {task['events']}")
            time.sleep(0.2)
