"""`phi dev` in its own process, as a user starts it (`make dev`), on free ports and a given data folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from phi.embedded.aws import free_port


class DevProcess:
    def __init__(self, data_dir: Path, log_file: Path) -> None:
        self.api_port, self.aws_port = free_port(), free_port()
        self.log_file = log_file
        command = [
            sys.executable,
            "-m",
            "phi.cli",
            "dev",
            "--data-dir",
            str(data_dir),
            "--api-port",
            str(self.api_port),
            "--aws-port",
            str(self.aws_port),
        ]
        with log_file.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def healthy(self) -> bool:
        assert self.process.poll() is None, f"phi dev exited with {self.process.returncode}:\n{self.log()}"
        try:
            return httpx.get(f"http://127.0.0.1:{self.api_port}/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # exited but not yet reaped counts as gone
    except psutil.NoSuchProcess:
        return False


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    return [
        process
        for process in psutil.process_iter(attrs=["name", "cmdline"])
        if process.info["name"] == "postgres"
        and str(pgdata) in " ".join(process.info["cmdline"] or [])
        and alive(process.pid)
    ]
