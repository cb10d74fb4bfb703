"""The one outbound HTTP client, and the guard that keeps it off private networks.

Every outbound fetch (extractors, health checks, the proxy) goes through the
`aiohttp.ClientSession` built here. Its connector checks the address every
connection really goes to, after DNS and on every redirect hop, so a hostile
playlist cannot make slipstream probe loopback, private, link-local or cloud
metadata addresses unless the config allows private upstreams.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult

from slipstream.errors import ProxyDenied

log = logging.getLogger(__name__)

USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36 slipstream/0.1"
)

# Cloud metadata endpoints that are not otherwise private (AWS/GCP/Azure use
# 169.254.169.254, which link-local already covers; Alibaba and others differ).
_METADATA = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}


def is_forbidden_address(address: str) -> bool:
    """True for addresses an upstream must not resolve to by default."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip in _METADATA
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


class AddressGuard:
    """Decides which resolved addresses outbound connections may use."""

    def __init__(self, allow_private: bool = False, exempt: Iterable[tuple[str, int]] = ()) -> None:
        self.allow_private = allow_private
        self.exempt: set[tuple[str, int]] = set(exempt)

    def allow(self, host: str, port: int) -> None:
        """Exempt one host:port (the built-in demo origin) from the guard."""
        self.exempt.add((host, port))

    def check(self, host: str, port: int, addresses: Sequence[str]) -> None:
        """Raise ProxyDenied when any address of `host` is forbidden."""
        if self.allow_private or (host, port) in self.exempt:
            return
        for address in addresses:
            if is_forbidden_address(address):
                raise ProxyDenied(f"upstream {host} resolves to a private address ({address})")


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that vets every resolved address with an AddressGuard."""

    def __init__(self, guard: AddressGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.guard = guard

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        results = await super()._resolve_host(host, port, traces=traces)
        self.guard.check(host, port, [r["host"] for r in results])
        return results


def build_client(
    guard: AddressGuard, *, limit: int = 512, timeout: float = 30.0
) -> aiohttp.ClientSession:
    """The shared outbound session. Call inside a running event loop."""
    connector = GuardedConnector(guard, limit=limit, limit_per_host=0, ttl_dns_cache=60)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
        trust_env=False,
    )


async def read_capped(resp: aiohttp.ClientResponse, cap: int) -> bytes:
    """Read a response body, refusing one larger than `cap` bytes without reading it whole."""
    if resp.content_length is not None and resp.content_length > cap:
        raise ValueError(f"too large ({resp.content_length} bytes > {cap})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > cap:
            raise ValueError(f"too large (over {cap} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)
