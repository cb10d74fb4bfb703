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
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from runner import Service, free_port, http_get, wait_for  # noqa: F401 - re-exported for tests


class ServiceHandle(Service):
    """runner.Service with a chosen log file, restarts, and stream-list polling."""

    def __init__(self, config: Path, data_dir: Path, log_path: Path,
                 env: Mapping[str, str] | None = None, plugins: bool = False) -> None:
        # tests/plugins is always importable (runner.cli_env); `plugins` is kept for callers.
        super().__init__(config, data_dir, **dict(env or {}))
        self.log_path = log_path

    def restart(self) -> ServiceHandle:
        """Stop and start again on the same port with the same data directory."""
        self.stop()
        self.start()
        return self

    def log(self, tail: int = 60) -> str:
        """The last lines the server printed."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        return "\n".join(lines[-tail:])

    def get_json(self, path: str, timeout: float = 10.0) -> Any:
        """GET a JSON route; fail with the server's log when it does not answer 200."""
        return self.json(path)

    def wait_for_streams(self, ready: Callable[[list[dict[str, Any]]], bool],
                         path: str = "/streams", timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll a stream list route until `ready(streams)` holds; fail with the log after `timeout`."""
        def check() -> list[dict[str, Any]] | None:
            streams: list[dict[str, Any]] = self.json(path)
            return streams if ready(streams) else None
        found: list[dict[str, Any]] = wait_for(check, timeout, f"{path} to get ready\n{self.log()}", 0.2)
        return found


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
