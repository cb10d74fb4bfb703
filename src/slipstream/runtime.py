"""Everything long-lived, built in one place for the app's lifespan and the CLI.

Order of opening: guard and HTTP client, store, extractors, health checker,
verifier, service. Closed in reverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from slipstream.config import Settings
from slipstream.errors import SlipstreamError
from slipstream.extractors.base import Extractor, ExtractorContext
from slipstream.http import AddressGuard, build_client
from slipstream.metrics import Metrics
from slipstream.service import ExtractionService, Verifier
from slipstream.store import Store, open_store

if TYPE_CHECKING:  # the demo modules are imported on first use only
    from slipstream.demo.media import MediaSet
    from slipstream.demo.origin import DemoOrigin

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The live parts of one slipstream process."""

    settings: Settings
    guard: AddressGuard
    http: aiohttp.ClientSession
    store: Store
    ctx: ExtractorContext
    extractors: list[Extractor]
    service: ExtractionService
    verifier: Verifier | None
    health: Any
    signer: Any
    refresher: Any
    upstream: Any
    extras: dict[str, Any] = field(default_factory=dict)


def make_verifier(settings: Settings, exempt: list[tuple[str, int]] | None = None) -> Verifier | None:
    """The playback verifier, or None when its module is not available.

    Its browser fetches go through Playwright, not the shared client, so it gets a guard of
    its own; `exempt` names the service's own address (HLS is verified through the proxy).
    """
    try:
        from slipstream.playback.verifier import PlaybackVerifier
    except ImportError as exc:  # the browser extra is optional
        log.warning("playback verifier unavailable: %s", exc)
        return None
    guard = AddressGuard(settings.proxy.allow_private_upstreams, exempt or ())
    verifier: Verifier = PlaybackVerifier(settings.verify, guard=guard)
    return verifier


class DemoLauncher:
    """Starts the built-in demo origin on first use (generating media can take a while)."""

    def __init__(self, settings: Settings, guard: AddressGuard, ctx: ExtractorContext) -> None:
        self.settings, self.guard, self.ctx = settings, guard, ctx
        self.origin: Any = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self._lock:
            if self.origin is not None:
                return
            from slipstream.demo.media import ensure_media

            media_dir = self.settings.store.path / "media"
            try:
                media = await asyncio.to_thread(ensure_media, media_dir)
                self.origin = await self._start(media)
            except Exception as exc:  # e.g. no ffmpeg: the demo source fails, the run goes on
                reason = str(exc) if isinstance(exc, SlipstreamError) else f"{type(exc).__name__}: {exc}"
                self.ctx.extras["demo_error"] = reason
                log.error("demo origin could not start: %s", reason)
                return  # tried again at the next run
            self.ctx.extras.pop("demo_error", None)
            host, port = _host_port(self.origin.base_url)
            self.guard.allow(host, port)  # the demo's own origin is exempt from the guard
            self.ctx.extras["demo_origin"] = self.origin
            log.info("demo origin serving at %s", self.origin.base_url)

    async def _start(self, media: MediaSet) -> DemoOrigin:
        """Start the origin on the port it had last time, so the demo's stream ids (and their
        uptime history) survive a restart; any free port when that one is taken."""
        from slipstream.demo.origin import start_demo_origin

        saved = self.settings.store.path / "demo-origin-port"
        try:
            port = int(saved.read_text())
        except (OSError, ValueError):
            port = 0
        try:
            origin = await start_demo_origin(media, port=port)
        except OSError as exc:
            log.info("demo origin: port %d unavailable (%s); picking another", port, exc.strerror)
            origin = await start_demo_origin(media)
        saved.write_text(str(_host_port(origin.base_url)[1]))
        return origin

    async def close(self) -> None:
        if self.origin is not None:
            await self.origin.close()


def _host_port(url: str) -> tuple[str, int]:
    parsed = urlsplit(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 80


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, store: Store | None = None, verify: bool = True,
    verifier_exempt: list[tuple[str, int]] | None = None, metrics: Metrics | None = None,
) -> AsyncIterator[Runtime]:
    """Open every long-lived part; close them in reverse on exit."""
    from slipstream.extractors.registry import build_extractors
    from slipstream.hls.health import HealthChecker
    from slipstream.proxy.signing import Signer, load_or_create_secret
    from slipstream.proxy.upstream import Upstream
    from slipstream.tokens.refresher import TokenRefreshManager

    async with AsyncExitStack() as stack:
        guard = AddressGuard(allow_private=settings.proxy.allow_private_upstreams)
        http = build_client(guard, timeout=settings.health.timeout)
        stack.push_async_callback(http.close)
        store = store or open_store(settings.store, settings.file)
        await store.open()
        stack.push_async_callback(store.close)
        base_dir = str(Path(settings.file).parent) if settings.file.endswith(".toml") else "."
        ctx = ExtractorContext(http=http, base_dir=base_dir)
        extractors = build_extractors(settings, ctx)
        health = HealthChecker(http, settings.health)
        verifier = make_verifier(settings, verifier_exempt) if verify else None
        if verifier is not None:
            stack.push_async_callback(verifier.close)  # type: ignore[attr-defined]
        service = ExtractionService(extractors, health, store, verifier, metrics=metrics)
        if any(s.type == "demo" for s in settings.sources):
            demo = DemoLauncher(settings, guard, ctx)
            stack.push_async_callback(demo.close)
            service.prepare = demo
        secret = load_or_create_secret(settings.store.path, settings.server.secret)
        refresher = TokenRefreshManager({e.key: e for e in extractors}, settings.schedule)
        metrics = service.metrics
        metrics.watch_count(lambda: len(refresher.active()))
        refresher.on_outcome = lambda outcome: metrics.refreshes.labels(outcome).inc()
        upstream = Upstream(http, refresher, settings.health.max_playlist_bytes, settings.health.timeout,
                            on_error=lambda status: metrics.upstream_errors.labels(str(status)).inc())
        yield Runtime(settings, guard, http, store, ctx, extractors, service, verifier, health,
                      Signer(secret), refresher, upstream)
