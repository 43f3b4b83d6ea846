"""The API routers' routes are declared on the app itself (phi.api.route_groups.routes_of): no included-router
wrapper that FastAPI would rebuild at the first request, and the same routes, tags and documentation as an
include gives."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from phi.api.app import create_app
from phi.api.routers import agents, auth, catalog, members, orgs, tasks


def test_every_route_is_the_app_s_own_with_its_router_s_tags() -> None:
    app = create_app()
    app.state.route_groups.install_routers()  # the console's are included: it is installed at its first request
    served = {id(route) for route in app.routes}
    for router in (auth.router, orgs.router, agents.router, tasks.router, members.router, catalog.router):
        assert router.routes, "a router with no routes"
        assert all(id(route) in served for route in router.routes)
        assert all(set(router.tags) <= set(route.tags) for route in router.routes if isinstance(route, APIRoute))
    kinds = {type(route).__name__ for route in app.routes}
    assert "_IncludedRouter" not in kinds, kinds  # nothing left for FastAPI to build at the first request


def test_an_include_and_the_declaration_document_the_same_api() -> None:
    declared = create_app()
    reference = FastAPI(title=declared.title, version=declared.version, description=declared.description)
    for router in (auth.router, orgs.router, agents.router):
        reference.include_router(router)
    paths = declared.openapi()["paths"]
    for path, item in reference.openapi()["paths"].items():
        for method, operation in item.items():
            ours = paths[path][method]
            assert (ours["tags"], ours["summary"], ours["operationId"]) == (
                operation["tags"],
                operation["summary"],
                operation["operationId"],
            )


def test_the_first_requests_are_answered_by_the_declared_routes() -> None:
    client = TestClient(create_app())
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/orgs").status_code == 401  # a declared route, refused before any I/O
    assert client.delete("/health").status_code == 405
    assert client.get("/no-such-route").status_code == 404
