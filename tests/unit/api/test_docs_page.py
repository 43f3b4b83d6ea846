"""/docs loads Swagger UI from the API itself: nothing from a CDN, so the page works offline and behind proxies."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phi.api import docs_page
from phi.api.app import create_app


@pytest.fixture(scope="module")
def client() -> Any:
    return TestClient(create_app())


def test_the_docs_page_links_only_to_the_apis_own_files(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(links) == [
        "/console/static/favicon.svg",
        "/docs/static/swagger-ui-bundle.js",
        "/docs/static/swagger-ui.css",
    ]
    assert "http" not in page.text.replace("window.location.origin", ""), "no absolute URL: nothing from elsewhere"
    assert "url: '/openapi.json'" in page.text
    for link in links:
        answer = client.get(link)
        assert answer.status_code == 200, link
    script = client.get("/docs/static/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in script.text
    assert client.get("/docs/static/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_only_files_of_swagger_uis_folder_are_served(client: Any) -> None:
    for path in ("/docs/static/missing.js", "/docs/static/../docs_page.py", "/docs/static/%2e%2e/core.py"):
        assert client.get(path).status_code == 404, path


def test_redoc_is_not_served(client: Any) -> None:
    assert client.get("/redoc").status_code == 404


def test_the_oauth2_redirect_page_is_served_from_the_api(client: Any) -> None:
    answer = client.get("/docs/oauth2-redirect")
    assert answer.status_code == 200 and "oauth2" in answer.text.lower()


def test_missing_swagger_files_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(docs_page.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="fastapi-offline"):
        docs_page.swagger_assets_folder()

    class Spec:
        submodule_search_locations = (str(tmp_path),)

    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "swagger-ui.css").write_text("x")
    monkeypatch.setattr(docs_page.importlib.util, "find_spec", lambda name: Spec())
    with pytest.raises(RuntimeError, match=r"swagger-ui-bundle\.js"):
        docs_page.swagger_assets_folder()
