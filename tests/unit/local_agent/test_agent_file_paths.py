from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from phi_agent.errors import ToolError
from phi_agent.tools import file_read
from phi_agent.tools.file_read import open_under, resolve_under


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


def test_a_name_too_long_for_the_system_is_a_readable_refusal_without_the_machines_folders(base: Path) -> None:
    # 300 characters: over the 255 a name may have (it was an OSError, sent as Tool.InternalError with the path)
    with pytest.raises(ToolError) as caught:
        resolve_under(base, "daily/" + "a" * 300 + ".csv")
    assert caught.value.error == "Tool.FileNotFound"
    assert "File name too long" in caught.value.cause and str(base) not in caught.value.cause


# A path swapped between the check and the open, by someone who can write in the base folder: each case runs the
# swap at the moment file.read opens the file (file_read._open_descriptor), the narrowest window a race can hit.


def _swapping_open(
    monkeypatch: pytest.MonkeyPatch, swap: Callable[[], None], restore: Callable[[], None] | None = None
) -> None:
    real_open = file_read._open_descriptor

    def open_after_swap(real: Path) -> int:
        swap()
        try:
            return real_open(real)
        finally:
            if restore is not None:
                restore()

    monkeypatch.setattr(file_read, "_open_descriptor", open_after_swap)


def _open_error(base: Path, requested: str) -> ToolError:
    with pytest.raises(ToolError) as caught, open_under(base, requested) as file:
        pytest.fail(f"opened {file.name}: {file.handle.read()!r}")
    return caught.value


def test_a_file_swapped_for_a_symlink_after_the_check_is_not_followed(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = base / "daily" / "stock.csv"

    def swap() -> None:
        target.unlink()
        os.symlink(base.parent / "secret.csv", target)

    _swapping_open(monkeypatch, swap)
    error = _open_error(base, "daily/stock.csv")
    assert error.error == "Tool.PathNotAllowed"
    assert "became a symbolic link" in error.cause  # refused by the open itself (O_NOFOLLOW)
    assert "hunter2" not in error.cause


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the base folder with a file of the same name as the one asked for."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "stock.csv").write_text("password\nhunter2\n")
    return folder


def test_a_folder_swapped_for_a_symlink_after_the_check_is_refused(
    base: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, outside: Path
) -> None:
    def swap() -> None:
        (base / "daily").rename(tmp_path / "daily-moved")
        os.symlink(outside, base / "daily")

    _swapping_open(monkeypatch, swap)
    error = _open_error(base, "daily/stock.csv")
    assert error.error == "Tool.PathNotAllowed"
    assert "hunter2" not in error.cause


def test_a_folder_swapped_and_swapped_back_around_the_open_is_refused(
    base: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, outside: Path
) -> None:
    """The open lands outside and the path is put back before it is looked at again: the opened file is not the
    one the path leads to, so it is not read."""
    moved = tmp_path / "daily-moved"

    def swap() -> None:
        (base / "daily").rename(moved)
        os.symlink(outside, base / "daily")

    def restore() -> None:
        (base / "daily").unlink()
        moved.rename(base / "daily")

    _swapping_open(monkeypatch, swap, restore)
    error = _open_error(base, "daily/stock.csv")
    assert error.error == "Tool.PathNotAllowed"
    assert "replaced" in error.cause


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX feature")
def test_a_fifo_swapped_in_is_refused_without_waiting_for_a_writer(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = base / "daily" / "stock.csv"

    def swap() -> None:
        target.unlink()
        os.mkfifo(target)

    _swapping_open(monkeypatch, swap)
    outcome: list[BaseException] = []

    def open_it() -> None:
        try:
            outcome.append(_open_error(base, "daily/stock.csv"))
        except BaseException as error:  # a failure of another kind: the assertion below shows it
            outcome.append(error)

    # A blocking open of a FIFO waits for a writer forever: the open runs in a thread so that a regression fails
    # this test rather than hanging the run.
    opener = threading.Thread(target=open_it, daemon=True)
    opener.start()
    opener.join(timeout=120)
    assert not opener.is_alive(), "opening a FIFO blocked"
    assert len(outcome) == 1
    error = outcome[0]
    assert isinstance(error, ToolError) and error.error == "Tool.FileNotFound", repr(error)
    assert "not a file" in error.cause


def test_a_symlink_inside_the_base_folder_is_read_through_the_one_handle(base: Path) -> None:
    os.symlink(base / "daily" / "stock.csv", base / "alias.csv")
    with open_under(base, "alias.csv") as file:
        assert file.name == "stock.csv"
        assert file.handle.read() == b"sku,qty\nA,1\n"
    assert file.handle.closed


def test_a_hard_link_is_refused_as_it_may_be_a_file_outside(base: Path) -> None:
    os.link(base.parent / "secret.csv", base / "linked.csv")
    error = _open_error(base, "linked.csv")
    assert error.error == "Tool.PathNotAllowed" and "2 hard links" in error.cause
    assert "hunter2" not in error.cause


def test_an_unsupported_type_is_refused_before_anything_is_opened(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A swapped folder could otherwise make the agent open a device (a serial port resets what hangs on it)."""
    (base / "notes.pdf").write_bytes(b"%PDF-1.4")
    opened: list[Path] = []
    monkeypatch.setattr(file_read, "_open_descriptor", opened.append)
    error = _open_error(base, "notes.pdf")
    assert error.error == "Tool.BadRequest" and "unsupported file type '.pdf'" in error.cause
    assert opened == []


def test_without_a_non_blocking_flag_the_descriptor_is_left_as_opened(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no O_NONBLOCK, and its os.set_blocking (3.12+) fails on a regular file: it is not called."""
    monkeypatch.setattr(file_read, "_NONBLOCK", 0)
    monkeypatch.setattr(file_read, "_OPEN_FLAGS", file_read._OPEN_FLAGS & ~getattr(os, "O_NONBLOCK", 0))
    calls: list[object] = []
    monkeypatch.setattr(file_read.os, "set_blocking", lambda *args: calls.append(args))
    with open_under(base, "daily/stock.csv") as file:
        assert file.handle.read() == b"sku,qty\nA,1\n"
    assert calls == []
