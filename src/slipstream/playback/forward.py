"""Forwarding the HLS page's requests upstream with the source's headers.

Chromium will not let a page set Referer or Origin, so each request the verifier's
page makes is fetched by Playwright with the source's headers and handed back with
CORS allowed (a stream's own CORS policy does not matter: players watch it through
slipstream's proxy). Playwright routes never see redirect hops, so redirects are
followed here, each hop vetted by the address guard; a playlist that arrived through a
redirect has its relative URIs made absolute against its final URL (RFC 8216 §4.1),
since the browser only ever sees the URL it asked for.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from urllib.parse import urljoin, urlsplit

from playwright.async_api import APIResponse, Route
from playwright.async_api import Error as PlaywrightError

from slipstream.errors import ProxyDenied
from slipstream.http import AddressGuard
from slipstream.urls import strip_query

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10
_REDIRECTS = {301, 302, 303, 307, 308}
# Headers the browser must compute itself for the body it is handed.
_DROP_RESPONSE = {"content-encoding", "content-length", "transfer-encoding", "connection"}
CORS = {"access-control-allow-origin": "*", "access-control-allow-headers": "*",
        "access-control-allow-methods": "GET, HEAD, OPTIONS",
        "access-control-expose-headers": "*"}
_URI_ATTR = re.compile(r'URI="([^"]*)"')
_NET_ERRORS = (("ECONNREFUSED", "connection refused", "connectionrefused"),
               ("Timeout", "timed out", "timedout"), ("ETIMEDOUT", "timed out", "timedout"),
               ("ENOTFOUND", "name not resolved", "namenotresolved"),
               ("EAI_AGAIN", "name not resolved", "namenotresolved"))


class Refused(Exception):
    """A hop the forwarder will not fetch."""


def absolutize(playlist: bytes, base: str) -> bytes:
    """`playlist` with every URI line and URI="..." attribute resolved against `base`."""
    lines = playlist.decode("utf-8", errors="surrogateescape").split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines[i] = line.replace(stripped, urljoin(base, stripped), 1)
        elif stripped.startswith("#EXT"):
            lines[i] = _URI_ATTR.sub(lambda m: f'URI="{urljoin(base, m.group(1))}"', line)
    return "\n".join(lines).encode("utf-8", errors="surrogateescape")


class Forwarder:
    """Fetches the page's requests upstream with the source's headers."""

    def __init__(
        self, headers: dict[str, str], timeout_s: float, guard: AddressGuard | None = None
    ) -> None:
        self.headers = headers
        self.timeout_ms = timeout_s * 1000
        self.guard = guard
        self.last_error: str | None = None

    async def forward(self, route: Route) -> None:
        """Fetch upstream and fulfil; a failure becomes the browser's own network error."""
        if route.request.method == "OPTIONS":  # a CORS preflight only our fake origin causes
            await route.fulfill(status=204, headers=CORS)
            return
        try:
            response, final_url = await self._fetch(route)
        except Refused as exc:
            self.last_error = str(exc)
            await route.abort("blockedbyclient")
            return
        except PlaywrightError as exc:
            await route.abort(self._network_error(route.request.url, exc))
            return
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _DROP_RESPONSE}
        body = await self._rebased_playlist(response, route.request.url, final_url)
        if body is None:
            await route.fulfill(response=response, headers={**headers, **CORS})
        else:
            await route.fulfill(status=response.status, body=body, headers={**headers, **CORS})

    async def _fetch(self, route: Route) -> tuple[APIResponse, str]:
        url = route.request.url
        for _ in range(MAX_REDIRECTS + 1):
            await self._vet(url)
            response = await route.fetch(url=url, headers=self._request_headers(route),
                                         timeout=self.timeout_ms, max_redirects=0)
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location:
                return response, url
            url = urljoin(url, location)
        raise Refused("too many redirects")

    def _request_headers(self, route: Route) -> dict[str, str]:
        # Our fake origin is nobody's business upstream: only the source's Origin/Referer go.
        names = {k.lower() for k in self.headers} | {"origin", "referer"}
        own = {k: v for k, v in route.request.headers.items() if k.lower() not in names}
        return {**own, **self.headers}

    async def _vet(self, url: str) -> None:
        """Raise Refused when the guard forbids the addresses `url`'s host resolves to."""
        parts = urlsplit(url)
        if self.guard is None or not parts.hostname:
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, port, type=socket.SOCK_STREAM)
        except OSError:
            return  # unresolvable: the fetch fails on its own with the right error
        try:
            self.guard.check(parts.hostname, port, [str(i[4][0]) for i in infos])
        except ProxyDenied:
            log.warning("verifier refused %s: private address", strip_query(url))
            raise Refused("private address refused") from None

    @staticmethod
    async def _rebased_playlist(response: APIResponse, asked: str, final: str) -> bytes | None:
        if final == asked or response.status >= 400:
            return None
        if not urlsplit(final).path.endswith((".m3u8", ".m3u")) and \
                "mpegurl" not in response.headers.get("content-type", "").lower():
            return None
        body = await response.body()
        return absolutize(body, final) if body.lstrip(b"\xef\xbb\xbf \r\n").startswith(
            b"#EXTM3U") else None

    def _network_error(self, url: str, exc: PlaywrightError) -> str:
        message = str(exc).splitlines()[0]
        log.debug("verifier fetch %s failed: %s", strip_query(url), message)
        for needle, reason, code in _NET_ERRORS:
            if needle in message:
                self.last_error = reason
                return code
        self.last_error = "network error"
        return "failed"
