"""PlaybackVerifier: does a stream really play? One headless Chromium, a fresh context per check."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from slipstream.config import VerifySettings
from slipstream.http import AddressGuard
from slipstream.models import Verdict
from slipstream.playback.browser import H264_AAC, BrowserHost, BrowserUnsuitable
from slipstream.playback.embed import check_embed
from slipstream.playback.hlspage import HlsAssets, check_hls
from slipstream.playback.locate import find_browser, find_hls_js
from slipstream.urls import strip_query

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0


class PlaybackVerifier:
    """Plays streams in headless Chromium and reports whether video frames were decoded."""

    def __init__(
        self, settings: VerifySettings, *, hls_js: Path | None = None,
        guard: AddressGuard | None = None, probe_type: str = H264_AAC,
    ) -> None:
        self.settings = settings
        self.guard = guard  # vets every host the HLS page fetches; None trusts them all
        self.hls_js = hls_js if hls_js is not None else find_hls_js()
        executable = find_browser(settings.browser) if settings.enabled else None
        self.unavailable_reason = self._why_unavailable(executable)
        self.available = self.unavailable_reason is None
        # `available` also turns False later if the launched browser fails its codec probe.
        self.host = BrowserHost(executable, probe_type) if executable and self.available else None
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._assets = HlsAssets(self.hls_js) if self.hls_js else None
        self._background: set[asyncio.Task[Any]] = set()

    def _why_unavailable(self, executable: str | None) -> str | None:
        if not self.settings.enabled:
            return "disabled in config"
        if executable is None:
            return "no browser found"
        if self.hls_js is None or not self.hls_js.is_file():
            return "hls.js not installed (run make install)"
        return None

    async def verify(
        self, url: str, headers: Mapping[str, str] | None = None, kind: str = "hls"
    ) -> Verdict:
        """The verdict on one stream (kind "hls" or "embed"); never raises."""
        verdict = await self._verify(url, dict(headers or {}), kind)
        return verdict or Verdict(url, False, None, f"not verified: {self._no_verdict_reason()}")

    async def verify_many(
        self, items: Sequence[tuple[str, Mapping[str, str], str]],
        progress: Callable[[Verdict], None] | None = None,
    ) -> dict[str, Verdict]:
        """Verdicts keyed by URL; URLs the verifier could not check at all are left out."""
        unique: dict[str, tuple[Mapping[str, str], str]] = {}
        for url, headers, kind in items:
            unique.setdefault(url, (headers, kind))
        verdicts: dict[str, Verdict] = {}

        async def one(url: str, headers: Mapping[str, str], kind: str) -> None:
            verdict = await self._verify(url, dict(headers), kind)
            if verdict is not None:
                verdicts[url] = verdict
            _tell(progress, verdict or Verdict(url, False, None, "not verified"))

        await asyncio.gather(*(one(u, h, k) for u, (h, k) in unique.items()))
        return verdicts

    async def close(self) -> None:
        """Close the browser; the verifier relaunches it if used again."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self.host is not None:
            await self.host.close()

    def open_contexts(self) -> int:
        """Browser contexts open right now (0 when no check is running)."""
        browser = self.host.browser if self.host else None
        return len(browser.contexts) if browser else 0

    def _turn_off(self, reason: str) -> None:
        """Unavailable from now on: the service keeps health verdicts and shows `reason`."""
        self.unavailable_reason, self.available = reason, False

    def _no_verdict_reason(self) -> str:
        return self.unavailable_reason or "browser failed"

    async def _verify(self, url: str, headers: dict[str, str], kind: str) -> Verdict | None:
        if self.host is None or not self.available:
            return None
        async with self._slots:
            try:
                verdict = await self._check(self.host, url, headers, kind)
            except Exception as exc:  # a verifier bug must not take a run down with it
                log.exception("verify %s failed", strip_query(url))
                verdict = Verdict(url, False, None, f"verifier error: {exc}")
        if verdict is not None:
            log.info("verify %s %s: %s (first frame %s ms)", kind, strip_query(url),
                     verdict.reason, verdict.elapsed_ms)
        return verdict

    async def _check(
        self, host: BrowserHost, url: str, headers: dict[str, str], kind: str
    ) -> Verdict | None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            return Verdict(url, False, None, "not an http(s) URL")
        try:  # launching is not the stream's time: the deadline starts after
            await host.get()
        except BrowserUnsuitable as exc:
            self._turn_off(str(exc))
            return None  # the browser cannot tell, so the stream is not called dead
        except Exception as exc:
            log.error("verifier browser failed to start: %s", _first_line(exc))
            return None
        context: BrowserContext | None = None
        deadline = time.monotonic() + self.settings.timeout
        try:
            async with asyncio.timeout(self.settings.timeout):
                context = await self._open_context(host, headers, kind)
                work = self._run(context, url, headers, kind, deadline)
                return await host.unless_gone(context.browser, work)
        except TimeoutError:
            return Verdict(url, False, None, "timeout")
        except PlaywrightError as exc:
            if context is not None and await host.died(context.browser, 1.0):
                log.warning("verifier browser died during %s", strip_query(url))
                return None  # no verdict on the stream: the browser failed, not the stream
            return Verdict(url, False, None, f"browser error: {_first_line(exc)}")
        finally:
            if context is not None:
                await asyncio.shield(self._close_context(context))

    async def _run(
        self, context: BrowserContext, url: str, headers: dict[str, str], kind: str,
        deadline: float,
    ) -> Verdict:
        if kind == "embed":
            return await check_embed(context, url, headers, deadline)
        assert self._assets is not None  # available implies hls.js was found
        return await check_hls(context, url, headers, self._assets, deadline, self.guard)

    async def _open_context(
        self, host: BrowserHost, headers: dict[str, str], kind: str
    ) -> BrowserContext:
        """A new context; if the deadline strikes while it is being made, it is closed later."""
        task = asyncio.ensure_future(host.new_context(**_context_options(headers, kind)))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._close_orphan)
            raise

    def _close_orphan(self, task: asyncio.Future[BrowserContext]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        closing = asyncio.ensure_future(self._close_context(task.result()))
        self._background.add(closing)
        closing.add_done_callback(self._background.discard)

    @staticmethod
    async def _close_context(context: BrowserContext) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await context.close()
        except (PlaywrightError, TimeoutError) as exc:
            log.debug("closing a verifier context: %s", exc)


def _context_options(headers: dict[str, str], kind: str) -> dict[str, Any]:
    """Context options; an embed gets the source's User-Agent and plain extra headers here."""
    options: dict[str, Any] = {"service_workers": "block",
                               "viewport": {"width": 960, "height": 540}}
    if kind != "embed":
        return options  # the HLS page forwards the source's headers on every request itself
    for name, value in headers.items():
        if name.lower() == "user-agent":
            options["user_agent"] = value
    # Chromium refuses Origin set from outside, and Referer goes on the navigation only.
    options["extra_http_headers"] = {k: v for k, v in headers.items()
                                     if k.lower() not in ("user-agent", "referer", "origin")}
    return options


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _tell(progress: Callable[[Verdict], None] | None, verdict: Verdict) -> None:
    if progress is None:
        return
    try:
        progress(verdict)
    except Exception:  # a progress bar must not break a run
        log.exception("verify progress callback failed")
