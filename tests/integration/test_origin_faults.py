"""Each fault of the local origin (tests/origin.py) does what its table says: statuses and bytes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from origin import REFERER, USER_AGENT, TestOrigin

LIVE = "/live/ts360/index.m3u8"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str, bytes]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, resp.headers.get("Content-Type", "").split(";")[0], await resp.read()


def sequence(body: bytes) -> int:
    return int(re.search(rb"#EXT-X-MEDIA-SEQUENCE:(\d+)", body).group(1))  # type: ignore[union-attr]


def first_uri(body: bytes) -> str:
    return next(line for line in body.decode().splitlines() if line and not line.startswith("#"))


async def test_stale_playlist_stays_put_while_live_moves_on(
    http: aiohttp.ClientSession, origin: TestOrigin
) -> None:
    start = sequence((await get(http, origin.url(LIVE)))[2])
    deadline = time.monotonic() + 5
    while sequence((await get(http, origin.url(LIVE)))[2]) == start:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)  # polling interval
    assert sequence((await get(http, origin.url("/~stale" + LIVE)))[2]) == 0


@pytest.mark.parametrize("prefix", ["/~seg404/live", "/broken"])
async def test_segments_404_under_a_fine_playlist(
    http: aiohttp.ClientSession, origin: TestOrigin, prefix: str
) -> None:
    status, _, body = await get(http, origin.url(f"{prefix}/ts360/index.m3u8"))
    assert status == 200
    assert (await get(http, origin.url(f"{prefix}/ts360/{first_uri(body)}")))[0] == 404


async def test_garbage_segments_are_not_media(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    status, ctype, body = await get(http, origin.url("/~garbage/live/ts360/4.ts"))
    assert (status, ctype) == (200, "video/mp2t")
    assert len(body) > 10_000 and body[0] != 0x47 and body[:3] != b"ID3"  # neither TS nor packed audio


async def test_html_instead_of_a_playlist(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    status, ctype, body = await get(http, origin.url("/~html" + LIVE))
    assert (status, ctype) == (200, "text/html") and body.lower().startswith(b"<!doctype html>")


async def test_delay_and_latency_slow_every_response(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    started = time.monotonic()
    assert (await get(http, origin.url("/~delay=300" + LIVE)))[0] == 200
    assert time.monotonic() - started >= 0.3
    origin.set_latency(0.2)
    started = time.monotonic()
    assert (await get(http, origin.url("/live/ts360/1.ts")))[0] == 200
    assert time.monotonic() - started >= 0.2


async def test_status_prefix(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    assert (await get(http, origin.url("/~status=503" + LIVE)))[0] == 503


async def test_huge_playlist_is_streamed(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    size = 0
    async with http.get(origin.url("/huge/50.m3u8")) as resp:
        assert resp.status == 200 and "Content-Length" not in resp.headers
        async for chunk in resp.content.iter_chunked(1 << 20):
            size += len(chunk)
    assert size >= 50 * 1024 * 1024


async def test_huge_playlist_reader_may_hang_up_early(
    http: aiohttp.ClientSession, origin: TestOrigin, caplog: pytest.LogCaptureFixture
) -> None:
    async with http.get(origin.url("/huge/50.m3u8")) as resp:
        assert (await resp.content.read(1 << 20)).startswith(b"#EXTM3U")
    assert (await get(http, origin.url(LIVE)))[0] == 200
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_redirects_and_redirect_loops(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    async with http.get(origin.url("/~redirect=2" + LIVE)) as resp:
        assert resp.status == 200 and len(resp.history) == 2 and resp.url.path == LIVE
    with pytest.raises(aiohttp.TooManyRedirects):
        await get(http, origin.url("/~loop" + LIVE))


@pytest.mark.parametrize(("prefix", "header", "value"), [
    ("/~referer", "Referer", REFERER), ("/~ua", "User-Agent", USER_AGENT)])
async def test_required_headers(
    http: aiohttp.ClientSession, origin: TestOrigin, prefix: str, header: str, value: str
) -> None:
    assert (await get(http, origin.url(prefix + LIVE)))[0] == 403
    assert (await get(http, origin.url(prefix + "/live/ts360/2.ts"), **{header: "wrong"}))[0] == 403
    assert (await get(http, origin.url(prefix + "/live/ts360/2.ts"), **{header: value}))[0] == 200


async def test_token_covers_playlists_and_segments_until_it_expires(
    http: aiohttp.ClientSession, origin: TestOrigin
) -> None:
    url = origin.token_url(LIVE, ttl=2)  # int() rounds the expiry down: valid for 1-2 s
    status, _, body = await get(http, url)
    segment = url.rsplit("/", 1)[0] + "/" + first_uri(body)
    assert status == 200 and segment.endswith("?" + url.split("?")[1])
    assert (await get(http, segment))[0] == 200
    assert (await get(http, segment.split("?")[0]))[0] == 403
    assert (await get(http, url.replace("sig=", "sig=0")))[0] == 403
    deadline = time.monotonic() + 5
    while (await get(http, url))[0] == 200:
        assert time.monotonic() < deadline, "token never expired"
        await asyncio.sleep(0.1)  # polling interval
    assert (await get(http, segment))[0] == 403


async def test_token_list_hands_out_fresh_tokens(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    expired = origin.token_url(LIVE, ttl=-1)
    assert (await get(http, expired))[0] == 403
    status, _, body = await get(http, origin.url("/tokens/30.m3u"))
    urls = [line for line in body.decode().splitlines() if line.startswith("http")]
    assert status == 200 and len(urls) == 3 and "/~token" + LIVE in urls[0]
    assert [(await get(http, u))[0] for u in urls] == [200, 200, 200]


async def test_kill_revive_and_reset(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    url = origin.url("/~id=kill-me" + LIVE)
    origin.kill("/~id=kill-me/")
    assert (await get(http, url))[0] == 404
    assert (await get(http, origin.url(LIVE)))[0] == 200
    origin.revive("/~id=kill-me/")
    assert (await get(http, url))[0] == 200
    origin.kill("/~id=kill-me/")
    origin.reset()
    assert (await get(http, url))[0] == 200


async def test_many_distinct_live_streams(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    for i in (0, 517, 999):
        status, _, body = await get(http, origin.url(f"/many/{i}/index.m3u8"))
        assert status == 200
        assert (await get(http, origin.url(f"/many/{i}/{first_uri(body)}")))[0] == 200
    assert origin.hits("/many/517/") == 2


async def test_served_text_files(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    url = origin.serve_text("/t/list.m3u", "#EXTM3U\n#EXTINF:-1,One\nhttp://x/\n", "audio/x-mpegurl")
    assert await get(http, url) == (200, "audio/x-mpegurl", b"#EXTM3U\n#EXTINF:-1,One\nhttp://x/\n")
    assert (await get(http, origin.url("/~status=500/t/list.m3u")))[0] == 500
    assert (await get(http, origin.url("/~delay=10/t/list.m3u")))[0] == 200


async def test_unknown_fault_prefix_is_a_clear_400(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    status, _, body = await get(http, origin.url("/~nosuch" + LIVE))
    assert status == 400 and b"~nosuch" in body
    status, _, body = await get(http, origin.url("/~delay=soon" + LIVE))
    assert status == 400 and b"~delay needs a whole number" in body
