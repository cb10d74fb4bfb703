"""The fault layer of the test origin (tests/origin.py): `~prefix` parsing, runtime state, fault answers."""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import time
from dataclasses import dataclass, field

from aiohttp import web

from slipstream.demo.media import CONTENT_TYPES

REFERER = "http://referer.test/watch"
USER_AGENT = "SlipstreamTestPlayer/1.0"
HTML_PAGE = "<!doctype html><html><head><title>Not a playlist</title></head><body>nope</body></html>"
MEDIA_EXTS = tuple(CONTENT_TYPES) + (".key",)


@dataclass
class Mods:
    """The fault prefixes of one request."""

    flags: set[str] = field(default_factory=set)
    values: dict[str, str] = field(default_factory=dict)

    def int(self, name: str) -> int:
        """A numeric prefix's value, 0 when absent."""
        try:
            return int(self.values.get(name, "0"))
        except ValueError:
            raise web.HTTPBadRequest(text=f"~{name} needs a whole number") from None


def split_mods(parts: list[str]) -> tuple[Mods, list[str]]:
    """Leading `~name[=value]` path parts as Mods, and the rest of the path."""
    mods = Mods()
    while parts and parts[0].startswith("~"):
        name, eq, value = parts.pop(0)[1:].partition("=")
        if name not in KNOWN_MODS:
            raise web.HTTPBadRequest(text=f"unknown fault prefix ~{name}")
        if eq:
            mods.values[name] = value
        else:
            mods.flags.add(name)
    return mods, parts


KNOWN_MODS = {"stale", "shift", "seg404", "garbage", "html", "delay", "status", "redirect", "loop",
               "referer", "ua", "token", "id"}


class OriginState:
    """What tests switch at runtime, and the token secret."""

    def __init__(self) -> None:
        self.killed: set[str] = set()
        self.latency = 0.0
        self.texts: dict[str, tuple[bytes, str]] = {}
        self.paths: list[str] = []
        self.secret = os.urandom(16)
        self.revoked: set[str] = set()  # token expiry stamps refused early

    def sign(self, exp: int) -> str:
        """The token signature for an expiry time."""
        return hmac.new(self.secret, str(exp).encode(), hashlib.sha256).hexdigest()[:16]

    def token_query(self, ttl: float) -> str:
        """`?exp=..&sig=..` valid for `ttl` seconds from now."""
        exp = int(time.time() + ttl)
        return f"?exp={exp}&sig={self.sign(exp)}"

    def token_ok(self, query: dict[str, str]) -> bool:
        """Whether a request's exp/sig token is genuine and unexpired."""
        exp = query.get("exp", "")
        return exp.isdigit() and exp not in self.revoked \
            and hmac.compare_digest(query.get("sig", ""), self.sign(int(exp))) and int(exp) > time.time()


def _redirect(request: web.Request, old: str, new: str | None) -> web.HTTPFound:
    parts = request.path.split("/")
    index = parts.index(old)
    parts[index:index + 1] = [new] if new else []
    query = f"?{request.query_string}" if request.query_string else ""
    return web.HTTPFound("/".join(parts) + query)


def guard(request: web.Request, mods: Mods, state: OriginState) -> None:
    """Raise the fault response a request's prefixes and the runtime switches call for."""
    if any(request.path.startswith(prefix) for prefix in state.killed):
        raise web.HTTPNotFound(text="killed")
    if "loop" in mods.flags or "loop" in mods.values:
        if "loop" in mods.flags:
            raise _redirect(request, "~loop", "~loop=1")
        raise _redirect(request, "~loop=1", "~loop")
    if mods.int("redirect") > 0:
        left = mods.int("redirect") - 1
        raise _redirect(request, f"~redirect={mods.int('redirect')}", f"~redirect={left}" if left else None)
    if "referer" in mods.flags and request.headers.get("Referer") != REFERER:
        raise web.HTTPForbidden(text="referer required")
    if "ua" in mods.flags and request.headers.get("User-Agent") != USER_AGENT:
        raise web.HTTPForbidden(text="user agent required")
    if "token" in mods.flags and not state.token_ok(dict(request.query)):
        raise web.HTTPForbidden(text="token missing, bad or expired")


def media_fault(rest: list[str], mods: Mods) -> web.StreamResponse | None:
    """The 404 or garbage answer for a segment under ~seg404 / ~garbage."""
    name = rest[-1] if rest else ""
    if not name.endswith(MEDIA_EXTS):
        return None
    if "seg404" in mods.flags:
        raise web.HTTPNotFound(text="segment gone")
    if "garbage" in mods.flags and not name.endswith(".key"):
        body = b"\x13\x37" + random.Random(name).randbytes(64 * 1024)
        ext = name[name.rfind("."):]
        return web.Response(body=body, content_type=CONTENT_TYPES[ext])
    return None


async def huge_playlist(request: web.Request, megabytes: int) -> web.StreamResponse:
    """A valid-looking media playlist of `megabytes` MB, written chunk by chunk."""
    resp = web.StreamResponse(headers={"Content-Type": "application/vnd.apple.mpegurl"})
    await resp.prepare(request)
    await resp.write(b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n")
    sent, k = 0, 0
    try:
        while sent < megabytes * 1024 * 1024:
            chunk = "".join(f"#EXTINF:2.000,\n{i}.ts\n" for i in range(k, k + 2000)).encode()
            await resp.write(chunk)
            sent, k = sent + len(chunk), k + 2000
        await resp.write_eof()
    except ConnectionError:  # reset or lost: the client stopped reading early, as size-capped clients should
        pass
    return resp


def token_list(request: web.Request, state: OriginState, ttl: float) -> web.Response:
    """An M3U of tokenised channels whose tokens are fresh on every fetch."""
    base = f"http://{request.host}/~token"
    lines = ["#EXTM3U"]
    for title, path in (("Token live TS (360p)", "/live/ts360/index.m3u8"),
                        ("Token master", "/live/master.m3u8"),
                        ("Token live fMP4 (360p)", "/live/fmp4/index.m3u8")):
        lines += [f'#EXTINF:-1 group-title="Token",{title}', base + path + state.token_query(ttl)]
    return web.Response(text="\n".join(lines) + "\n", content_type="audio/x-mpegurl")
