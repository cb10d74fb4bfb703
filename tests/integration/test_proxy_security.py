"""The proxy is never an open proxy, and never a way into the user's own network.

Bad proxy URLs (tampered, expired, for another stream, unknown stream, unsigned) are
refused before anything is fetched. Upstreams on loopback, a name that resolves to it,
or a redirect hop to it are refused with the guard on; 10.x and metadata upstreams are
played through the proxy routes too, and refused once resolved, before any connect: no
test sends traffic off this host.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from aiohttp import web

from origin import TestOrigin
from service_support import LocalApp, ServiceFactory, ServiceHandle, free_port, http_get
from slipstream.api.app import create_app
from slipstream.config import build_settings
from slipstream.errors import ProxyDenied
from slipstream.http import AddressGuard, GuardedConnector, is_forbidden_address
from slipstream.proxy.signing import Signer

SECRET = "security-test-secret-0123456789ab"


def proxy_lines(body: bytes) -> list[str]:
    """The proxy URLs a rewritten playlist hands the player."""
    return [line for line in body.decode().splitlines() if line.startswith("/proxy/")]


# --- signed URLs: refused before any upstream fetch -------------------------------------------


@pytest.fixture(scope="module")
def signed_service(module_service: ServiceFactory, origin: TestOrigin) -> tuple[ServiceHandle, Any]:
    """A service (known secret) with two origin streams: ids by title."""
    listing = (f"#EXTM3U\n#EXTINF:-1,A\n{origin.url('/live/master.m3u8')}\n"
               f"#EXTINF:-1,B\n{origin.url('/live/ts234/index.m3u8')}\n")
    svc = module_service(f'[server]\nsecret = "{SECRET}"\n[proxy]\nallow_private_upstreams = true\n'
                         f'[verify]\nenabled = false\n[[sources]]\ntype = "m3u"\nkey = "sec"\n'
                         f'url = "{origin.serve_text("/security/list.m3u", listing)}"\n')
    streams = svc.wait_for_streams(lambda s: len(s) == 2)
    return svc, {s["title"]: s["id"] for s in streams}


def _genuine_segment(svc: ServiceHandle, stream_id: str) -> str:
    variant = proxy_lines(http_get(svc.url(f"/proxy/{stream_id}/master.m3u8"))[2])[0]
    return proxy_lines(http_get(svc.url(variant))[2])[-1]


def _name_token(url: str) -> tuple[str, str]:
    """The path's name and the `t` token of a stable-layout segment URL."""
    parts = urlsplit(url)
    return parts.path.rpartition("/")[2], parse_qs(parts.query)["t"][0]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _tamper(token: str) -> str:
    swap = "A" if token[5] != "A" else "B"
    return token[:5] + swap + token[6:]


def test_bad_proxy_urls_are_refused_and_nothing_is_fetched(signed_service: Any, origin: TestOrigin) -> None:
    svc, ids = signed_service
    a, b = ids["A"], ids["B"]
    genuine = _genuine_segment(svc, a)
    name, token = _name_token(genuine)
    upstream = Signer(SECRET.encode()).verify(a, token)
    long_ago = time.time() - 7200
    expired = Signer(SECRET.encode(), ttl=60, clock=lambda: long_ago).sign(a, upstream)
    unknown = Signer(SECRET.encode()).sign("0123456789abcdef", upstream)
    other_secret = Signer(b"not-the-service-secret-at-all-xx").sign(a, upstream)
    refused = {
        "tampered signature": (f"/proxy/{a}/s/{name}?t={_tamper(token)}", 403),
        "tampered signature, token in the path": (f"/proxy/{a}/s/{_tamper(token)}.ts", 403),
        "expired signature": (expired, 403),
        "signed for stream A, used on B": (f"/proxy/{b}/s/{name}?t={token}", 403),
        "name of another segment": (f"/proxy/{a}/s/AAAAAAAAAAAAAAAAAAAAAAAA.ts?t={token}", 403),
        "signed with another secret": (other_secret, 403),
        "truncated token": (f"/proxy/{a}/s/{token[:20]}.ts", 403),
        "not base64url": (f"/proxy/{a}/s/{token[:-2]}!!.ts", 403),
        "unsigned upstream URL": (f"/proxy/{a}/s/{_b64(upstream)}.ts", 403),
        "unknown stream, valid signature": (unknown, 404),
        "unknown stream master": ("/proxy/0123456789abcdef/master.m3u8", 404),
        "unknown stream variant": ("/proxy/0123456789abcdef/v/0-640x360-949776.m3u8", 404),
        "raw upstream URL as path": (f"/proxy/{a}/s/{upstream}", 404),
    }
    before = origin.hits("/live/")
    for case, (path, expected) in refused.items():
        status, headers, body = http_get(svc.url(path))
        assert status == expected, f"{case}: {status} {body[:200]!r}"
        assert headers.get("access-control-allow-origin") == "*", f"{case}: a page could not read why"
        if expected == 403:
            assert json.loads(body)["error"] == "ProxyDenied", case
    assert origin.hits("/live/") == before, "a refused proxy URL reached the origin"
    assert http_get(svc.url(genuine))[0] == 200  # the control: the genuine URL plays
    assert origin.hits("/live/") == before + 1


def test_expired_proxy_url_names_the_reason(signed_service: Any) -> None:
    svc, ids = signed_service
    path = Signer(SECRET.encode(), ttl=1, clock=lambda: time.time() - 3600).sign(ids["A"], "http://x.test/a.ts")
    status, _, body = http_get(svc.url(path))
    assert (status, json.loads(body)) == (403, {"error": "ProxyDenied", "detail": "expired"})


# --- the address guard: loopback upstreams and redirect hops ----------------------------------


class Internal:
    """Stands for a service on the user's network: counts every request that reaches it."""

    def __init__(self) -> None:
        self.hits = 0
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._any)

    async def _any(self, request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(text="#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg.ts\n")


# Upstreams inside someone's network. The guard refuses them once resolved, before any
# connect (slipstream.http.GuardedConnector._resolve_host), so no packet leaves this host.
PRIVATE = {"Private 10.x": "http://10.1.2.3/live/master.m3u8",
           "Metadata": "http://169.254.169.254/latest/meta-data/master.m3u8"}


def public_app(internal_port: int) -> web.Application:
    """The 'public' upstream (exempted from the guard): real playlists, and redirects inward."""
    app = web.Application()
    inward = f"http://127.0.0.1:{internal_port}"

    async def playlist(_: web.Request) -> web.Response:
        body = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg.ts\n#EXTINF:2.0,\nhop.ts\n"
        return web.Response(text=body, content_type="application/vnd.apple.mpegurl")

    async def segment(_: web.Request) -> web.Response:
        return web.Response(body=b"\x47" * 1880, content_type="video/mp2t")

    async def to_inside(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{inward}/{request.path.rpartition('/')[2]}")

    async def listing(request: web.Request) -> web.Response:
        here = f"http://{request.host}"
        return web.Response(text=(f"#EXTM3U\n#EXTINF:-1,Ok\n{here}/ok/index.m3u8\n"
                                  f"#EXTINF:-1,Redirect inward\n{here}/go/master.m3u8\n"
                                  f"#EXTINF:-1,Loopback\n{inward}/master.m3u8\n"
                                  f"#EXTINF:-1,Localhost\nhttp://localhost:{internal_port}/master.m3u8\n"
                                  f"#EXTINF:-1,Private 10.x\n{PRIVATE['Private 10.x']}\n"
                                  f"#EXTINF:-1,Metadata\n{PRIVATE['Metadata']}\n"))

    app.router.add_get("/list.m3u", listing)
    app.router.add_get("/ok/index.m3u8", playlist)
    app.router.add_get("/ok/seg.ts", segment)
    app.router.add_get("/ok/hop.ts", to_inside)
    app.router.add_get("/go/{name}", to_inside)
    return app


class InProcessService:
    """create_app in a uvicorn server on its own thread, so a test can reach its runtime."""

    def __init__(self, settings: Any) -> None:
        self.app = create_app(settings, schedule=False)
        self.port = settings.server.port
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> InProcessService:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "in-process service did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this service."""
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A service with the guard ON whose only exemption is the public upstream's host:port."""
    internal = Internal()
    with LocalApp(internal.app) as inside, LocalApp(public_app(inside.port)) as public:
        settings = build_settings({
            "server": {"port": free_port(), "secret": SECRET},
            "store": {"kind": "memory", "data_dir": str(tmp_path_factory.mktemp("guarded"))},
            "verify": {"enabled": False},
            "proxy": {"allow_private_upstreams": False},
            "sources": [{"type": "m3u", "key": "pub", "url": public.url("/list.m3u")}],
        })
        with InProcessService(settings) as svc:
            svc.app.state.runtime.guard.allow("127.0.0.1", public.port)
            assert http_get(svc.url("/extract"), method="POST")[0] == 202
            deadline = time.monotonic() + 20
            while len(streams := json.loads(http_get(svc.url("/streams/all"))[2])) < 4 + len(PRIVATE):
                assert time.monotonic() < deadline, f"extraction did not finish: {streams}"
                time.sleep(0.1)
            yield svc, internal, inside.port, {s["title"]: s["id"] for s in streams}


def test_guard_refuses_loopback_upstreams_and_redirect_hops(guarded: Any) -> None:
    svc, internal, inside_port, ids = guarded
    assert internal.hits == 0  # not even the extraction's health checks got in
    for title in ("Redirect inward", "Loopback", "Localhost"):
        status, _, body = http_get(svc.url(f"/proxy/{ids[title]}/master.m3u8"))
        assert status == 403, f"{title}: {status} {body[:200]!r}"
        assert "private address" in json.loads(body)["detail"], body
    status, _, body = http_get(svc.url(f"/proxy/{ids['Ok']}/master.m3u8"))
    assert status == 200, body  # the exempt upstream itself plays
    seg, hop = proxy_lines(body)
    assert http_get(svc.url(seg))[:3:2] == (200, b"\x47" * 1880)
    assert http_get(svc.url(hop))[0] == 403  # a segment redirecting inward
    signer = svc.app.state.runtime.signer
    for inward in (f"http://127.0.0.1:{inside_port}/seg.ts", f"http://localhost:{inside_port}/seg.ts"):
        assert http_get(svc.url(signer.sign(ids["Ok"], inward)))[0] == 403, inward
    assert internal.hits == 0


def upstream_answers(svc: InProcessService) -> list[str]:
    """The service's `slipstream_proxy_upstream_errors_total` samples: error statuses upstreams sent."""
    text = http_get(svc.url("/metrics"))[2].decode()
    return [line for line in text.splitlines() if line.startswith("slipstream_proxy_upstream_errors_total{")]


@pytest.mark.parametrize("title", list(PRIVATE))
def test_guard_refuses_private_and_metadata_upstreams_through_the_proxy(guarded: Any, title: str) -> None:
    svc, internal, _, ids = guarded
    host = urlsplit(PRIVATE[title]).hostname
    before = upstream_answers(svc)
    for path in (f"/proxy/{ids[title]}/master.m3u8", f"/proxy/{ids[title]}/v/0-640x360-949776.m3u8"):
        status, headers, body = http_get(svc.url(path))
        assert status == 403, f"{title} {path}: {status} {body[:200]!r}"
        # Refused by the guard on the resolved address: the step before any connection.
        assert json.loads(body) == {"error": "ProxyDenied",
                                    "detail": f"upstream {host} resolves to a private address ({host})"}
        assert headers.get("access-control-allow-origin") == "*"
    assert upstream_answers(svc) == before  # no upstream answered the proxy anything
    assert internal.hits == 0


@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.100.100.200", "100.64.0.1",
    "127.0.0.1", "0.0.0.0", "::1", "fd00:ec2::254", "fe80::1", "::ffff:10.0.0.1", "224.0.0.1",
])
def test_private_and_metadata_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden_address(address)


def test_public_addresses_are_allowed() -> None:
    assert not is_forbidden_address("93.184.216.34")
    assert not is_forbidden_address("2606:2800:220:1:248:1893:25c8:1946")


@pytest.mark.parametrize("host", ["10.1.2.3", "169.254.169.254", "192.168.0.10", "localhost"])
async def test_connector_refuses_at_resolve_time(host: str) -> None:
    # _resolve_host is the step before any connect: an IP literal needs no DNS, and
    # localhost resolves from /etc/hosts, so nothing here leaves the machine.
    connector = GuardedConnector(AddressGuard(allow_private=False))
    try:
        with pytest.raises(ProxyDenied, match="private address"):
            await connector._resolve_host(host, 80)
    finally:
        await connector.close()


async def test_exemption_is_per_host_and_port() -> None:
    guard = AddressGuard(allow_private=False)
    guard.allow("127.0.0.1", 8080)
    guard.check("127.0.0.1", 8080, ["127.0.0.1"])
    with pytest.raises(ProxyDenied):
        guard.check("127.0.0.1", 8081, ["127.0.0.1"])
    with pytest.raises(ProxyDenied):
        guard.check("localhost", 8080, ["127.0.0.1"])
