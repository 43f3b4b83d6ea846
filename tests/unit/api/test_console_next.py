"""Where the console goes after log-in (`next`): only inside the console, as the browser resolves the redirect,
on the API's own domain and behind the API Gateway stage (/dev/console)."""

from __future__ import annotations

import pytest
from fastapi import Request
from httpx import URL

from phi.api.console.pages import DEFAULT_NEXT, safe_next
from phi.api.console.rendering import redirect

LEAVING = [
    "/../../openapi.json",
    "/..",
    "/../docs",
    "/agents/../../../openapi.json",
    "/%2e%2e/%2e%2e/openapi.json",
    "/%2E%2E/docs",
    "/.%2e/docs",
    "/..\\..\\docs",
    "/..%5c..%5cdocs",
    "/./../docs",
    "//evil.com",
    "//evil.com/console",
    "/\\evil.com",
    "/\t/evil.com",
    "https://evil.com/console",
    "javascript:alert(1)",
    "evil.com",
    "",
    None,
]
STAYING = {
    "/agents/42": "/agents/42",
    "/orgs/": "/orgs",
    "/orgs//7/./members": "/orgs/7/members",
    "/agents/42/../43": "/agents/43",
    "/agents\\42": "/agents/42",
    "/%2F%2Fevil.com": "/evil.com",  # a path inside the console named after a host, not the host
    "/%252e%252e/docs": "/%252e%252e/docs",  # escaped once more: a plain segment, never `..`
    "/orgs/7/approvals?show=all": "/orgs/7/approvals?show=all",
}


def _location(next_path: str | None, root_path: str) -> URL:
    """Where the browser goes after logging in on https://api.example.com with that `next`."""
    request = Request({"type": "http", "method": "POST", "path": "/console/login", "root_path": root_path,
                       "headers": [], "query_string": b""})  # fmt: skip
    location = redirect(request, safe_next(next_path)).headers["location"]
    return URL(f"https://api.example.com{root_path}/console/login").join(location)


@pytest.mark.parametrize("root_path", ["", "/dev"])
@pytest.mark.parametrize("next_path", LEAVING)
def test_a_next_that_leaves_the_console_goes_to_the_default_page(next_path: str | None, root_path: str) -> None:
    assert safe_next(next_path) == DEFAULT_NEXT
    resolved = _location(next_path, root_path)
    assert (resolved.host, resolved.path) == ("api.example.com", f"{root_path}/console{DEFAULT_NEXT}")


@pytest.mark.parametrize("root_path", ["", "/dev"])
@pytest.mark.parametrize(("next_path", "expected"), STAYING.items())
def test_a_next_inside_the_console_is_followed_as_the_browser_would_resolve_it(
    next_path: str, expected: str, root_path: str
) -> None:
    assert safe_next(next_path) == expected
    resolved = _location(next_path, root_path)
    assert resolved.host == "api.example.com"
    assert resolved.raw_path.decode().startswith(f"{root_path}/console/")
    assert resolved.raw_path.decode() == f"{root_path}/console{expected}"
