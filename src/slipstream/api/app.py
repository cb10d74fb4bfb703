"""`create_app(settings)`: the FastAPI app, with a lifespan owning everything long-lived."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from slipstream import __version__
from slipstream.api.proxy_metrics import ProxyMetrics
from slipstream.api.routes import extractors, health, metrics, playlist, proxy, streams, watch, web
from slipstream.api.routes.proxy import PROBE_HEADER
from slipstream.config import Settings
from slipstream.errors import (
    ConfigError,
    PlaylistError,
    ProxyDenied,
    SlipstreamError,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
)
from slipstream.metrics import Metrics
from slipstream.models import Stream
from slipstream.runtime import open_runtime
from slipstream.scheduler import start_scheduler

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[SlipstreamError], int]] = [
    (ProxyDenied, 403), (UpstreamTimeout, 504), (UpstreamStatus, 502), (UpstreamError, 502),
    (PlaylistError, 502), (ConfigError, 500),
]


async def _slipstream_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)
    return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)


def own_address(settings: Settings) -> tuple[str, int]:
    """The address this service answers on, as its own clients reach it."""
    host = settings.server.host
    return ("127.0.0.1" if host in ("0.0.0.0", "::", "") else host), settings.server.port


def proxy_target(settings: Settings) -> Callable[[Stream], tuple[str, Mapping[str, str]]]:
    """Verify HLS through the service's own proxy, so the verified path is the watched path."""
    host, port = own_address(settings)
    base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    def target(stream: Stream) -> tuple[str, Mapping[str, str]]:
        if stream.stream_type == "embed":
            return stream.embed_url or stream.url, stream.headers
        return f"{base}/proxy/{stream.id}/master.m3u8", {PROBE_HEADER: "1"}
    return target


def create_app(settings: Settings, *, schedule: bool = True) -> FastAPI:
    """Build the app; nothing is opened until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, verifier_exempt=[own_address(settings)],
                                metrics=app_metrics) as runtime:
            app.state.runtime = runtime
            await runtime.service.load()
            runtime.service.verify_target = proxy_target(settings)
            scheduler = start_scheduler(settings, runtime.service, runtime.refresher) if schedule else None
            try:
                yield
            finally:
                if scheduler is not None:
                    scheduler.shutdown(wait=False)
                await runtime.service.stop()
                for task in list(app.state.tasks):
                    task.cancel()
                await asyncio.gather(*app.state.tasks, return_exceptions=True)

    app_metrics = Metrics()
    app = FastAPI(title="slipstream", version=__version__, lifespan=lifespan)
    app.add_middleware(ProxyMetrics, metrics=app_metrics)
    app.state.settings = settings
    app.state.tasks = set()
    app.add_exception_handler(SlipstreamError, _slipstream_error)
    for module in (streams, watch, proxy, extractors, health, metrics, playlist, web):
        app.include_router(module.router)
    return app
