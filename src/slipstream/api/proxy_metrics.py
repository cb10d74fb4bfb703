"""Counts proxy requests (by kind and status) and the bytes sent to players, gives
every proxy response, errors included, its CORS headers, and answers CORS preflights.

A plain ASGI wrapper rather than Starlette's BaseHTTPMiddleware: it sits on the
segment path, where every extra task and copy costs CPU per gigabyte.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slipstream.metrics import Metrics

# Any page may play a proxy URL, and must see why it failed (hls.js reads the status).
CORS = [(b"access-control-allow-origin", b"*"),
        (b"access-control-expose-headers", b"Content-Length, Content-Range")]
# A player on another origin that sends `Range` (or any non-safelisted header) asks
# first with OPTIONS (Fetch standard, CORS-preflight request).
PREFLIGHT = [(b"allow", b"GET, OPTIONS"),
             (b"access-control-allow-methods", b"GET, OPTIONS"),
             (b"access-control-max-age", b"86400")]
ALWAYS_ALLOWED = ("range",)
# Header names the preflight echoes back: RFC 9110 tokens, a few of them. Anything else
# (control bytes, a header-injection attempt, an endless list) is not echoed.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
_MAX_ECHOED = 16


def proxy_kind(path: str) -> str | None:
    """`master`, `variant` or `segment` for proxy paths, else None."""
    if not path.startswith("/proxy/"):
        return None
    if "/s/" in path:
        return "segment"
    return "variant" if "/v/" in path else "master"


def allowed_headers(requested: bytes) -> bytes:
    """`Access-Control-Allow-Headers`: Range, plus the requested names that are plain tokens."""
    names = list(ALWAYS_ALLOWED)
    for raw in requested.decode("latin-1").split(",")[:_MAX_ECHOED]:
        name = raw.strip().lower()
        if _HEADER_NAME.fullmatch(name) and name not in names:
            names.append(name)
    return ", ".join(names).encode()


async def preflight(scope: Scope, send: Send) -> None:
    """204 to an OPTIONS on /proxy/*: nothing is looked up, verified or fetched for it."""
    requested = dict(scope["headers"]).get(b"access-control-request-headers", b"")
    headers = [*CORS, *PREFLIGHT, (b"access-control-allow-headers", allowed_headers(requested))]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class ProxyMetrics:
    """ASGI middleware feeding `slipstream_proxy_requests` and `slipstream_proxy_bytes`,
    adding CORS headers to every proxy response and answering preflights.

    Preflights are not counted: they carry no stream and fetch nothing.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = proxy_kind(scope["path"]) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await preflight(scope, send)
            return
        status: list[Any] = ["none"]
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal sent
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), *CORS]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.metrics.proxy_requests.labels(kind, str(status[0])).inc()
            self.metrics.proxy_bytes.inc(sent)
