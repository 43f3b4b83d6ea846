"""The API's routers are installed at the first request that can reach them (phi.api.route_groups): the list of
each router's paths matches the routers, every path is answered by the same routes in the same order as with
every router present, a cold app imports only the routers its requests need, and concurrent first requests
install each router once."""

from __future__ import annotations

import pkgutil
import random
import re
import threading
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match

import phi.api.routers
from phi.api.app import create_app
from phi.api.route_groups import ROUTER_PATHS, RouteGroups, routes_of
from tests.support.fresh_interpreter import json_from_fresh_interpreter

A_UUID = "0b6a7b64-6c52-4d56-9a44-3f1f0c1f2a55"
PARAMETER = re.compile(r"\{[^}]+\}")


def full_app() -> FastAPI:
    app = create_app()
    app.state.route_groups.install_routers()
    return app


def signature(route: BaseRoute) -> tuple[str, tuple[str, ...]]:
    return (getattr(route, "path", ""), tuple(sorted(getattr(route, "methods", None) or ())))


def literal_segments() -> set[str]:
    return {
        segment
        for paths in ROUTER_PATHS.values()
        for path in paths
        for segment in path.split("/")
        if segment and not PARAMETER.fullmatch(segment)
    }


def concrete_paths(template: str) -> set[str]:
    """The template with every parameter a UUID, then with each parameter in turn set to each literal segment of
    any route (the values that test which of two overlapping routes comes first), with and without a final
    slash."""
    pieces = PARAMETER.split(template)  # the literal text around each parameter
    found = {A_UUID.join(pieces)}
    for index in range(1, len(pieces)):
        for literal in literal_segments():
            values = [A_UUID] * (len(pieces) - 1)
            values[index - 1] = literal
            found.add("".join(piece + value for piece, value in zip(pieces, [*values, ""], strict=True)))
    return found | {path + "/" for path in found}


def http_scope(path: str, method: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "root_path": "", "method": method, "headers": [], "query_string": b""}


def test_router_paths_name_every_router_module_and_exactly_its_paths() -> None:
    modules = {info.name for info in pkgutil.iter_modules(phi.api.routers.__path__)}
    assert set(ROUTER_PATHS) == modules
    for module, paths in ROUTER_PATHS.items():
        assert len(set(paths)) == len(paths), module
        declared = [route.path for route in routes_of(module)]  # type: ignore[attr-defined]
        assert set(paths) == set(declared), f"phi.api.route_groups.ROUTER_PATHS[{module!r}] != its router's paths"


def test_every_path_installs_every_router_that_could_answer_it() -> None:
    reference = full_app()
    groups = RouteGroups(FastAPI())
    routers_of = {id(route): module for module in ROUTER_PATHS for route in routes_of(module)}
    checked = 0
    for template in {path for paths in ROUTER_PATHS.values() for path in paths}:
        for path in concrete_paths(template):
            toggled = path[:-1] if path.endswith("/") else path + "/"
            serving = groups.groups_serving(path)
            for route in reference.routes:
                if id(route) not in routers_of:
                    continue
                for method in getattr(route, "methods", None) or ():
                    if any(route.matches(http_scope(p, method))[0] != Match.NONE for p in (path, toggled)):
                        assert routers_of[id(route)] in serving, (path, method, signature(route))
                        checked += 1
    assert checked > 1000  # the walk reached the routes


def test_routes_keep_the_order_they_have_with_every_router_whatever_order_the_first_requests_come_in() -> None:
    expected = [signature(route) for route in full_app().routes]
    for seed in range(5):
        app = create_app()
        modules = list(ROUTER_PATHS)
        random.Random(seed).shuffle(modules)
        for module in modules:
            app.state.route_groups.install_for(ROUTER_PATHS[module][-1].replace("{", "").replace("}", ""))
        assert app.state.route_groups.installed == set(ROUTER_PATHS)
        assert [signature(route) for route in app.routes] == expected


# Paths that an overlapping route could take from another, and their answers without credentials.
PROBES = [
    ("GET", "/health", 200),
    ("GET", "/orgs", 401),
    ("GET", "/orgs/", 307),  # redirected to /orgs, as with every router present
    ("GET", f"/agents/{A_UUID}/documents/upload-url", 401),  # a document id, by the route declared later
    ("POST", f"/agents/{A_UUID}/documents/upload-url", 401),
    ("GET", f"/agents/{A_UUID}/workflows/daily_report/versions", 401),
    ("POST", f"/agents/{A_UUID}/proposals/{A_UUID}/approve", 401),
    ("POST", f"/approvals/{A_UUID}/approve", 401),
    ("GET", "/workflow-templates/daily_report", 401),
    ("DELETE", "/industries", 405),
    ("GET", "/no-such-route", 404),
    ("GET", f"/agents/{A_UUID}/nothing-here", 404),
    ("POST", "/local-agents/heartbeat", 401),
]


@pytest.mark.parametrize(("method", "path", "status"), PROBES)
def test_a_first_request_is_answered_as_with_every_router_present(method: str, path: str, status: int) -> None:
    for app in (create_app(), full_app()):
        answer = TestClient(app).request(method, path, follow_redirects=False)
        assert answer.status_code == status, (path, answer.text)


def test_concurrent_first_requests_install_each_router_once() -> None:
    app = create_app()
    start = threading.Barrier(len(PROBES) * 2)
    answers: dict[tuple[str, str, int], int] = {}

    def ask(method: str, path: str, copy: int) -> None:
        client = TestClient(app)
        start.wait(timeout=60)
        answers[(method, path, copy)] = client.request(method, path, follow_redirects=False).status_code

    threads = [
        threading.Thread(target=ask, args=(method, path, copy)) for method, path, _status in PROBES for copy in (0, 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert answers == {(method, path, copy): status for method, path, status in PROBES for copy in (0, 1)}
    assert not [key for key, count in Counter(id(route) for route in app.routes).items() if count > 1]
    app.state.route_groups.install_routers()
    assert [signature(route) for route in app.routes] == [signature(route) for route in full_app().routes]


def test_a_cold_app_imports_only_the_routers_its_requests_reach() -> None:
    # A fresh interpreter: in this one, other tests have imported every router already.
    found = json_from_fresh_interpreter(
        """
        import json, sys
        from fastapi.testclient import TestClient
        from phi.api.app import create_app

        def routers():
            return sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("phi.api.routers."))

        client = TestClient(create_app())
        seen = {"built": routers()}
        client.get("/health")
        seen["health"] = routers()
        client.get("/orgs")
        seen["orgs"] = routers()
        client.get("/agents/x/keys")
        seen["keys"] = routers()
        paths = client.get("/openapi.json").json()["paths"]
        seen["openapi"] = routers()
        seen["console"] = "phi.api.console.site" in sys.modules
        print(json.dumps({"seen": seen, "documented": len(paths)}))
        """
    )
    assert found["seen"]["built"] == []
    assert found["seen"]["health"] == ["health"]
    assert found["seen"]["orgs"] == ["health", "orgs"]
    assert found["seen"]["keys"] == ["agents", "health", "orgs"]
    assert found["seen"]["openapi"] == sorted(ROUTER_PATHS)
    assert found["seen"]["console"] is False  # the document does not describe the console
    assert found["documented"] == len(full_app().openapi()["paths"])
