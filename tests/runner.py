"""Run the real `slipstream` CLI as a user would: a service subprocess, or one command.

Used by the integration and browser tests. The service gets its own data dir
and a free port; tests/plugins is on PYTHONPATH so the test extractors
published there through entry points (raiser, hanger, lister) are available.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "slipstream")
PLUGINS = str(ROOT / "tests" / "plugins")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a slipstream process: own data dir, test plugins importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPSTREAM_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [PLUGINS, env.get("PYTHONPATH")]))
    env["SLIPSTREAM_STORE__DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_cli(args: list[str], data_dir: Path, timeout: float = 120, **env: str,
            ) -> subprocess.CompletedProcess[str]:
    """Run one `slipstream ...` command to completion."""
    return subprocess.run([CLI, *args], env=cli_env(data_dir, **env), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def http_get(url: str, timeout: float = 10.0, headers: Mapping[str, str] | None = None,
             method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """`method` `url`: (status, lower-cased headers, body), error statuses included."""
    request = urllib.request.Request(url, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class Service:
    """`slipstream serve --config FILE` in a subprocess on a free port."""

    def __init__(self, config: Path, data_dir: Path, **env: str) -> None:
        self.config, self.data_dir, self.env = config, data_dir, env
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The command line that starts the service (subclasses start it differently)."""
        return [CLI, "serve", "--config", str(self.config), "--port", str(self.port)]

    def start(self, cwd: Path | None = None) -> Service:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            self.command(), cwd=cwd, env=cli_env(self.data_dir, **self.env), stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(self._up, 30, f"the service on {self.base_url} ({self.log_path})")
        return self

    def _up(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"service exited {self.proc.returncode}: {self.log()}")
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                timeout: float = 10) -> tuple[int, bytes]:
        status, _, body = http_get(self.url(path), timeout, headers, method)
        return status, body

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return self.request("GET", path, headers)

    def json(self, path: str, headers: dict[str, str] | None = None) -> Any:
        status, body = self.get(path, headers)
        assert status == 200, f"GET {path} -> {status}: {body[:300]!r}\n{self.log()}"
        return json.loads(body)

    def wait_run(self, timeout: float = 60, after: int = 0) -> dict[str, Any]:
        """Wait until more than `after` runs have finished and none is running; return /extractors."""
        def done() -> dict[str, Any] | None:
            status = self.json("/extractors")
            return status if status["runs_completed"] > after and not status["running"] else None
        result: dict[str, Any] = wait_for(done, timeout, "an extraction run to finish")
        return result

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
