"""The API's routes come in groups (one router module each, and the console), added to the app at the first
request whose path one of them can serve.

Lambda builds the API function's app at every cold start, and a request reaches one router: importing all of
them (their models, services, repositories and route analysis) cost ~0.25 CPU s of each cold start (issue 15 §1),
most of it for routers the request never touches. The app itself declares no route at all (even analysing the
health check's answer type imports pydantic's v1 compatibility package, ~15 ms). `ROUTER_PATHS` names each
router module's paths, so the path of a request tells which modules could answer it without importing any;
tests/unit/api/test_route_groups.py checks it against the routers, so a route added without it fails there.

Routes keep the order they would have with every group present, so a path answers exactly as before: every group
one of whose paths matches the request's path (or that path with its trailing slash toggled, which Starlette
redirects to) is installed before the router sees the request, and the routes are kept in `ROUTER_PATHS`' order.
The OpenAPI document installs every router first (the console is not in it). All installs take one lock and swap
in a new route list, so a request being matched in another thread never sees a half-built one."""

from __future__ import annotations

import importlib
import re
import threading
from typing import TYPE_CHECKING, Final

from starlette.routing import compile_path

from phi.api.console import install_console, is_console_url_path, path_in_app

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Receive, Scope, Send

# Each module of phi.api.routers with the paths its routes serve, in the order the app declares them.
ROUTER_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "auth": ("/auth/signup", "/auth/login", "/auth/logout", "/auth/password", "/me"),
    "orgs": ("/orgs", "/orgs/{org_id}"),
    "agents": (
        "/orgs/{org_id}/agents",
        "/agents/{agent_id}",
        "/agents/{agent_id}/generate-profile",
        "/agents/{agent_id}/config",
        "/agents/{agent_id}/keys",
        "/agents/{agent_id}/keys/{key_id}",
    ),
    "tasks": (
        "/agents/{agent_id}/run-task",
        "/agents/{agent_id}/tasks",
        "/orgs/{org_id}/tasks",
        "/tasks/{task_id}",
        "/tasks/{task_id}/cancel",
    ),
    "local_agents": (
        "/local-agents/credentials",
        "/local-agents/heartbeat",
        "/orgs/{org_id}/local-agents",
        "/agents/{agent_id}/local-agents",
    ),
    "schedules": ("/agents/{agent_id}/schedules", "/agents/{agent_id}/schedules/{workflow_type}/run"),
    "workflows": (
        "/workflow-schema",
        "/agents/{agent_id}/workflows",
        "/agents/{agent_id}/workflows/{key}",
        "/agents/{agent_id}/workflows/{key}/versions",
        "/agents/{agent_id}/workflows/{key}/versions/{version}",
        "/agents/{agent_id}/workflows/{key}/diff",
        "/agents/{agent_id}/workflows/{key}/rollback",
    ),
    "notifications": (
        "/orgs/{org_id}/outbox",
        "/orgs/{org_id}/outbox/{message_id}",
        "/orgs/{org_id}/outbound-hosts",
        "/orgs/{org_id}/outbound-hosts/{host}",
        "/orgs/{org_id}/webhook-secret",
    ),
    "requests": (
        "/agents/{agent_id}/requests",
        "/agents/{agent_id}/requests/{request_id}",
        "/agents/{agent_id}/proposals",
        "/orgs/{org_id}/proposals",
        "/agents/{agent_id}/proposals/{proposal_id}",
        "/agents/{agent_id}/proposals/{proposal_id}/approve",
        "/agents/{agent_id}/proposals/{proposal_id}/reject",
        "/agents/{agent_id}/proposals/{proposal_id}/rebase",
    ),
    "documents": (
        "/agents/{agent_id}/documents",
        "/agents/{agent_id}/documents/upload-url",
        "/agents/{agent_id}/documents/{document_id}",
        "/agents/{agent_id}/search-docs",
    ),
    "admin": ("/admin/tasks", "/metrics"),
    "llm": ("/orgs/{org_id}/llm-usage", "/orgs/{org_id}/llm-budget"),
    "approvals": (
        "/orgs/{org_id}/approvals",
        "/approvals/{approval_id}",
        "/approvals/{approval_id}/approve",
        "/approvals/{approval_id}/reject",
    ),
    "members": ("/orgs/{org_id}/members", "/orgs/{org_id}/members/{user_id}"),
    "invitations": ("/orgs/{org_id}/invitations", "/orgs/{org_id}/invitations/{invitation_id}", "/invitations/accept"),
    "catalog": ("/industries", "/role-templates", "/tools", "/workflow-templates", "/workflow-templates/{key}"),
    "health": ("/health",),
}
CONSOLE: Final = "console"


def routes_of(module: str) -> list[BaseRoute]:
    """A router module's routes, as its router built them: they become the app's own, not an `include_router`
    (FastAPI would build each included route again at the app's first request, ~0.12 s for all of ours; our
    routers set no prefix, tags or dependencies at the include, so the routes they built are the ones needed)."""
    return list(importlib.import_module(f"phi.api.routers.{module}").router.routes)


class RouteGroups:
    """The app's route groups and which of them are installed: `install_for(path)` installs every group that
    can serve the path, `install_routers()` every router (the OpenAPI document), `install_all()` the console too
    (tests that walk every route)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.installed: set[str] = set()
        self._lock = threading.Lock()
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None
        self._rank: dict[int, int] = {}  # id(route) -> its group's place in ROUTER_PATHS
        self._framework_routes = {id(route) for route in app.router.routes}  # OpenAPI and docs pages: first

    def install_routers(self) -> None:
        self._install_missing(set(ROUTER_PATHS))

    def install_all(self) -> None:
        self._install_missing({*ROUTER_PATHS, CONSOLE})

    def install_for(self, path: str) -> None:
        if len(self.installed) <= len(ROUTER_PATHS):  # once all are in, a request's path is matched only by the router
            self._install_missing(self.groups_serving(path))

    def _install_missing(self, groups: set[str]) -> None:
        if groups - self.installed:  # the common case, checked without the lock: everything is installed
            self._install(groups)

    def groups_serving(self, path: str) -> set[str]:
        if is_console_url_path(path):
            return {CONSOLE}
        if self._patterns is None:  # compiled at the first request, not at the cold start
            self._patterns = [
                (compile_path(route_path)[0], module) for module, paths in ROUTER_PATHS.items() for route_path in paths
            ]
        # Starlette answers a path that matches nothing but matches with its trailing slash toggled with a redirect.
        toggled = path[:-1] if path.endswith("/") else path + "/"
        return {module for pattern, module in self._patterns if pattern.match(path) or pattern.match(toggled)}

    def _install(self, groups: set[str]) -> None:
        with self._lock:
            routers = [module for module in ROUTER_PATHS if module in groups and module not in self.installed]
            if routers:
                self._install_routers(routers)
            if CONSOLE in groups and CONSOLE not in self.installed:
                install_console(self.app)  # console paths overlap no API path: their place does not matter
                self.installed.add(CONSOLE)

    def _install_routers(self, modules: list[str]) -> None:
        routes = list(self.app.router.routes)
        for module in modules:
            added = routes_of(module)
            self._rank.update((id(route), list(ROUTER_PATHS).index(module)) for route in added)
            routes += added
        # A new list, swapped in whole: a request being matched in another thread goes on with the old one.
        self.app.router.routes = sorted(routes, key=self._place)
        self.installed.update(modules)

    def _place(self, route: BaseRoute) -> int:
        if id(route) in self._framework_routes:
            return -1
        return self._rank.get(id(route), len(ROUTER_PATHS))  # the console after the routers


class InstallOnFirstUse:
    """ASGI middleware: installs the groups that can serve a request's path before the router sees it."""

    def __init__(self, app: ASGIApp, groups: RouteGroups) -> None:
        self.app = app
        self.groups = groups

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.groups.install_for(path_in_app(scope))
        await self.app(scope, receive, send)
