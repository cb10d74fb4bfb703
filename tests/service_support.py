"""A real slipstream service for tests (`slipstream serve` as a subprocess), and small upstreams.

    def test_x(service, origin):
        svc = service(f'[[sources]]\\ntype = "m3u"\\nkey = "tv"\\nurl = "{origin.url("/tokens/20.m3u")}"\\n')
        streams = svc.wait_for_streams(lambda s: len(s) >= 3)
        requests.get(svc.url("/streams"))

Each service gets a free port on 127.0.0.1 and its own data directory (set through
SLIPSTREAM_STORE__DATA_DIR, so the config text needs no [store] table). Its output
goes to a log file that failures quote. `stop()` and `restart()` keep the data dir.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
PLUGINS = REPO / "tests" / "plugins"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 10.0, headers: Mapping[str, str] | None = None,
             method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """GET (or `method`) `url`: (status, lower-cased headers, body), error statuses included."""
    request = urllib.request.Request(url, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


class ServiceHandle:
    """One `slipstream serve` subprocess on 127.0.0.1."""

    def __init__(self, config: Path, data_dir: Path, log_path: Path,
                 env: Mapping[str, str] | None = None, plugins: bool = False) -> None:
        self.config, self.data_dir, self.log_path = config, data_dir, log_path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._env = {**os.environ, "SLIPSTREAM_STORE__DATA_DIR": str(data_dir), **(env or {})}
        if plugins:
            self._env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(PLUGINS), self._env.get("PYTHONPATH", "")) if p)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:{port}"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server process's id (for /proc CPU figures)."""
        assert self.proc is not None, "service not running"
        return self.proc.pid

    def url(self, path: str = "/") -> str:
        """The absolute URL of `path` (which starts with /) on this service."""
        return self.base_url + path

    def start(self) -> ServiceHandle:
        """Launch the server and wait until /streams answers."""
        cmd = [sys.executable, "-m", "slipstream", "serve", "--config", str(self.config),
               "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env,
                                         cwd=self.data_dir, stdin=subprocess.DEVNULL)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"slipstream serve exited {self.proc.returncode}:\n{self.log()}")
            try:
                if http_get(self.url("/streams"), timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)  # polling interval, not synchronisation: the deadline bounds it
        self.stop()
        raise RuntimeError(f"slipstream serve not ready in {START_TIMEOUT_S:.0f}s:\n{self.log()}")

    def stop(self) -> int | None:
        """Terminate the server (SIGTERM, then SIGKILL after a grace period); its exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        return proc.returncode

    def restart(self) -> ServiceHandle:
        """Stop and start again on the same port with the same data directory."""
        self.stop()
        return self.start()

    def log(self, tail: int = 60) -> str:
        """The last lines the server printed."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(lines[-tail:])

    def get_json(self, path: str, timeout: float = 10.0) -> Any:
        """GET a JSON route; fail with the server's log when it does not answer 200."""
        status, _, body = http_get(self.url(path), timeout=timeout)
        assert status == 200, f"GET {path} -> {status}: {body[:300]!r}\n{self.log()}"
        return json.loads(body)

    def wait_for_streams(self, ready: Callable[[list[dict[str, Any]]], bool],
                         path: str = "/streams", timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll a stream list route until `ready(streams)` holds; fail with the log after `timeout`."""
        deadline = time.monotonic() + timeout
        streams: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            streams = self.get_json(path)
            if ready(streams):
                return streams
            time.sleep(0.2)
        raise AssertionError(f"{path} never got ready in {timeout:.0f}s: {streams}\n{self.log()}")


class LocalApp:
    """An aiohttp app on 127.0.0.1 in its own thread and loop (a small upstream for one test).

    Handlers run on that loop; sync tests and the service subprocess can reach it while
    the test blocks.
    """

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.base_url = ""
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        self._thread = threading.Thread(target=self.loop.run_forever, name="local-app", daemon=True)

    def __enter__(self) -> LocalApp:
        self._thread.start()
        self.base_url = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        return self

    async def _start(self) -> str:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.base_url.rpartition(":")[2])

    def url(self, path: str) -> str:
        """The absolute URL of `path` (which starts with /)."""
        return self.base_url + path


ServiceFactory = Callable[..., ServiceHandle]


class ServicePool:
    """Starts services in fresh temporary folders and stops them all at the end."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        self.started: list[ServiceHandle] = []

    def start(self, config_toml: str, env: Mapping[str, str] | None = None,
              plugins: bool = False) -> ServiceHandle:
        """Write the config, launch `slipstream serve`, wait until it answers."""
        folder = self.tmp.mktemp("service")
        config = folder / "slipstream.toml"
        config.write_text(config_toml)
        (folder / "data").mkdir()
        handle = ServiceHandle(config, folder / "data", folder / "service.log", env, plugins)
        self.started.append(handle)
        return handle.start()

    def stop_all(self) -> None:
        """Stop every service started here."""
        for handle in self.started:
            handle.stop()


@pytest.fixture(name="service")
def service_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceFactory]:
    """Factory: `service(config_toml, env=None, plugins=False) -> ServiceHandle`, started and ready.

    Every service started is stopped at teardown. `plugins=True` puts tests/plugins on
    PYTHONPATH so the entry-point extractors there are found.
    """
    pool = ServicePool(tmp_path_factory)
    yield pool.start
    pool.stop_all()


@pytest.fixture(name="module_service", scope="module")
def module_service_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceFactory]:
    """`service`, for services shared by a module's tests (stopped after the module)."""
    pool = ServicePool(tmp_path_factory)
    yield pool.start
    pool.stop_all()
