from __future__ import annotations

import os
from pathlib import Path

import pytest

from phi_agent.errors import ToolError
from phi_agent.tools.file_read import resolve_under


@pytest.fixture
def base(tmp_path: Path) -> Path:
    root = tmp_path / "exports"
    (root / "daily").mkdir(parents=True)
    (root / "daily" / "stock.csv").write_text("sku,qty\nA,1\n")
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    return root


def _error(base: Path, requested: str) -> str:
    with pytest.raises(ToolError) as caught:
        resolve_under(base, requested)
    return caught.value.error


def test_relative_and_inside_absolute_paths_resolve(base: Path) -> None:
    assert resolve_under(base, "daily/stock.csv") == (base / "daily" / "stock.csv").resolve()
    assert resolve_under(base, str(base / "daily" / "stock.csv")).name == "stock.csv"


def test_escapes_are_refused(base: Path) -> None:
    assert _error(base, "../secret.csv") == "Tool.PathNotAllowed"
    assert _error(base, "daily/../../secret.csv") == "Tool.PathNotAllowed"
    assert _error(base, "daily\\..\\..\\secret.csv") == "Tool.PathNotAllowed"
    assert _error(base, str(base.parent / "secret.csv")) == "Tool.PathNotAllowed"
    assert _error(base, "/etc/passwd") == "Tool.PathNotAllowed"


def test_symlink_escaping_the_base_is_refused(base: Path) -> None:
    os.symlink(base.parent / "secret.csv", base / "innocent.csv")
    os.symlink(base.parent, base / "up")
    assert _error(base, "innocent.csv") == "Tool.PathNotAllowed"
    assert _error(base, "up/secret.csv") == "Tool.PathNotAllowed"
    os.symlink(base / "daily" / "stock.csv", base / "alias.csv")
    assert resolve_under(base, "alias.csv").name == "stock.csv"


def test_missing_file_and_folder(base: Path) -> None:
    assert _error(base, "nope.csv") == "Tool.FileNotFound"
    assert _error(base, "daily") == "Tool.FileNotFound"
