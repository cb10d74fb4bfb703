"""The HLS check: hls.js in a muted <video> on a page of our own, reporting frames and errors.

The page and hls.js live on a fake origin answered inside the browser context; every
other request the page makes goes through the Forwarder with the source's headers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from playwright.async_api import BrowserContext, Route
from playwright.async_api import Error as PlaywrightError

from slipstream.http import AddressGuard
from slipstream.models import Verdict
from slipstream.playback.forward import Forwarder

log = logging.getLogger(__name__)

PAGE_ORIGIN = "http://slipstream-verifier.invalid"
PAGE_HTML = Path(__file__).with_name("page.html")
# The page reports its own "timeout" (with hls.js's last error) this long before the hard deadline.
PAGE_MARGIN_S = 0.5


class HlsAssets:
    """page.html and hls.min.js, read once and served to every check."""

    def __init__(self, hls_js: Path) -> None:
        self._files = {"page.html": (PAGE_HTML, "text/html; charset=utf-8"),
                       "hls.min.js": (hls_js, "text/javascript")}
        self._cache: dict[str, bytes] = {}

    async def serve(self, route: Route) -> None:
        """Answer a request for one of the page's own files."""
        name = urlsplit(route.request.url).path.lstrip("/")
        if name not in self._files:
            await route.fulfill(status=404, body="not found")
            return
        path, content_type = self._files[name]
        if name not in self._cache:
            self._cache[name] = path.read_bytes()
        await route.fulfill(status=200, body=self._cache[name], content_type=content_type,
                            headers={"cache-control": "no-store"})


async def _route_all(context: BrowserContext, assets: HlsAssets, forwarder: Forwarder) -> None:
    async def handle(route: Route) -> None:
        try:
            if route.request.url.startswith(PAGE_ORIGIN + "/"):
                await assets.serve(route)
            else:
                await forwarder.forward(route)
        except PlaywrightError as exc:  # the check ended and its context closed meanwhile
            log.debug("verifier route: %s", str(exc).splitlines()[0])

    await context.route("**/*", handle)


async def check_hls(
    context: BrowserContext, url: str, headers: dict[str, str], assets: HlsAssets,
    deadline: float, guard: AddressGuard | None = None,
) -> Verdict:
    """Play `url` with hls.js until `deadline` (monotonic); playable = frames decoded, time moving."""
    forwarder = Forwarder(headers, max(1.0, deadline - time.monotonic()), guard)
    await _route_all(context, assets, forwarder)
    result: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def report(data: dict[str, Any]) -> None:
        if not result.done():
            result.set_result(data)

    def closed(_: object) -> None:  # the browser went away under the check
        if not result.done():
            result.set_exception(PlaywrightError("page closed before the check ended"))

    await context.expose_function("slipstreamReport", report)
    page = await context.new_page()
    page.on("crash", lambda _: report({"playable": False, "reason": "page crashed"}))
    page.on("close", closed)
    budget_ms = max(500, int((deadline - time.monotonic() - PAGE_MARGIN_S) * 1000))
    await page.goto(f"{PAGE_ORIGIN}/page.html#budget={budget_ms}&src={quote(url, safe='')}")
    return _verdict(url, await result, forwarder.last_error)


def _verdict(url: str, data: dict[str, Any], network_error: str | None) -> Verdict:
    reason = str(data.get("reason") or "unknown")
    if network_error and "LoadError" in reason and "(http" not in reason:
        reason = f"{reason} ({network_error})"
    if not data.get("playable"):
        return Verdict(url, False, None, reason)
    first = data.get("firstFrameMs")
    elapsed = round(float(first), 1) if isinstance(first, int | float) else None
    return Verdict(url, True, elapsed, reason)
