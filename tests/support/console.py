"""A console session over plain HTTP (no browser): cookies, the CSRF token, forms as a browser posts them."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class ConsoleSession:
    def __init__(self, api_url: str) -> None:
        self.client = httpx.Client(base_url=api_url, timeout=120, follow_redirects=False)

    def csrf(self, page: str = "/console/login") -> str:
        """The CSRF token a page carries in its forms (and its cookie, set on the first page)."""
        html = self.client.get(page).text
        found = CSRF_FIELD.search(html)
        assert found, f"no CSRF field on {page}"
        return found.group(1)

    def post(self, path: str, data: dict[str, Any] | None = None, *, with_csrf: bool = True, **kwargs: Any) -> Any:
        form = dict(data or {})
        if with_csrf:
            form["csrf_token"] = self.csrf()
        return self.client.post(path, data=form, **kwargs)

    def sign_up(self, email: str | None = None, password: str = "console-password-1") -> str:
        email = email or f"console-{uuid.uuid4().hex[:12]}@example.com"
        response = self.post("/console/signup", {"email": email, "password": password, "full_name": "Console Test"})
        assert response.status_code == 303, response.text
        return email

    def log_in(self, email: str, password: str) -> httpx.Response:
        return self.post("/console/login", {"email": email, "password": password})
