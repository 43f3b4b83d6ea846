"""A throwaway MariaDB server for the local agent's MySQL-family tests: Debian's `mariadb-server-core` (installed
by `make setup`: the binaries, no system service), started in a temporary data directory on a Unix socket only
(no TCP port), stopped afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_until

# What a cold start of an empty server needs on a loaded 2-core machine, with room to spare.
START_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class MariaDb:
    socket: Path

    def url(self, user: str, password: str, database: str) -> str:
        return f"mysql+pymysql://{user}:{password}@localhost/{database}?unix_socket={self.socket}"

    def admin(self) -> Any:
        """A root connection (autocommit) for setting up databases, users and rows."""
        import pymysql

        return pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)


def _program(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or next(
            (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
        )
        if found:
            return found
    raise RuntimeError(f"{names[0]} is not installed: `make setup` installs Debian's mariadb-server-core")


def _accepts_connections(socket: Path) -> bool:
    import pymysql

    if not socket.exists():
        return False
    try:
        pymysql.connect(unix_socket=str(socket), user="root", connect_timeout=2).close()
    except pymysql.err.OperationalError:
        return False
    return True


@contextmanager
def running_mariadb() -> Iterator[MariaDb]:
    # Not under pytest's tmp dir (mode 0700 paths are fine for root, but keep it short: a socket path is limited
    # to ~100 characters).
    home = Path(tempfile.mkdtemp(prefix="phi-mariadb-"))
    data, socket, log = home / "data", home / "server.sock", home / "server.log"
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            _program("mariadb-install-db", "mysql_install_db"),
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT_SECONDS,
    )
    server = subprocess.Popen(
        [
            _program("mariadbd", "mysqld"),
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={socket}",
            "--skip-networking",
            f"--pid-file={home / 'server.pid'}",
            f"--log-error={log}",
            *user,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: server.poll() is not None or _accepts_connections(socket), timeout=START_TIMEOUT_SECONDS)
        if server.poll() is not None:
            raise RuntimeError(f"MariaDB exited at start: {log.read_text(errors='replace')[-2000:]}")
        yield MariaDb(socket)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(home, ignore_errors=True)
