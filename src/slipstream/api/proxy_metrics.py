"""Counts proxy requests (by kind and status) and the bytes sent to players, and
gives every proxy response, errors included, its CORS headers.

A plain ASGI wrapper rather than Starlette's BaseHTTPMiddleware: it sits on the
segment path, where every extra task and copy costs CPU per gigabyte.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slipstream.metrics import Metrics

# Any page may play a proxy URL, and must see why it failed (hls.js reads the status).
CORS = [(b"access-control-allow-origin", b"*"),
        (b"access-control-expose-headers", b"Content-Length, Content-Range")]


def proxy_kind(path: str) -> str | None:
    """`master`, `variant` or `segment` for proxy paths, else None."""
    if not path.startswith("/proxy/"):
        return None
    if "/s/" in path:
        return "segment"
    return "variant" if "/v/" in path else "master"


class ProxyMetrics:
    """ASGI middleware feeding `slipstream_proxy_requests` and `slipstream_proxy_bytes`,
    adding CORS headers to every proxy response."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = proxy_kind(scope["path"]) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
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
