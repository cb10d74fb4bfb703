"""The health check against the real local HLS origin (tests/origin.py): verdicts and reasons."""

from __future__ import annotations

import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from origin import REFERER, TestOrigin
from slipstream.config import HealthSettings
from slipstream.hls.health import HealthChecker
from slipstream.hls.playlist import MasterPlaylist, parse_playlist
from slipstream.http import AddressGuard, build_client
from slipstream.models import HealthResult

T = 2.0  # the origin's target duration (2 s segments)

MakeChecker = Callable[..., HealthChecker]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with build_client(AddressGuard(allow_private=True)) as session:
        yield session


@pytest.fixture
def checker(http: aiohttp.ClientSession) -> MakeChecker:
    """A HealthChecker factory; the staleness check is off unless a test turns it on."""

    def make(**settings: object) -> HealthChecker:
        return HealthChecker(http, HealthSettings(**{"stale_check": False, "timeout": 5.0, **settings}))

    return make


async def check(checker: MakeChecker, origin: TestOrigin, path: str, **settings: object) -> HealthResult:
    return await checker(**settings).check(origin.url(path))


def reasons(results: list[HealthResult]) -> list[str]:
    return [r.reason for r in results]


async def test_live_streams_of_every_shape_pass_with_the_staleness_check(
    checker: MakeChecker, origin: TestOrigin
) -> None:
    paths = ["/live/ts360/index.m3u8", "/live/fmp4/index.m3u8", "/live/audio/index.m3u8",
             "/live/aes/index.m3u8", "/live/master.m3u8", "/live/master-fmp4.m3u8",
             "/live/master-aes.m3u8", "/live/master-audio.m3u8"]
    started = time.perf_counter()
    results = await checker(stale_check=True).check_many([(origin.url(p), {}) for p in paths])
    assert reasons(results) == ["ok"] * len(paths)
    assert all(r.is_live and r.response_time_ms and r.response_time_ms > 0 for r in results)
    assert all(r.bitrate and r.bitrate > 10_000 for r in results)  # BANDWIDTH or measured
    assert time.perf_counter() - started < 2 * T + 2  # one target duration of waiting, shared


async def test_master_picks_the_highest_variant_and_reports_its_bandwidth(
    checker: MakeChecker, origin: TestOrigin, http: aiohttp.ClientSession
) -> None:
    async with http.get(origin.url("/live/master.m3u8")) as resp:
        master = parse_playlist(await resp.read(), str(resp.url))
    assert isinstance(master, MasterPlaylist) and len(master.variants) == 2
    best = max(master.variants, key=lambda v: v.bandwidth)
    before = origin.hits("/live/ts234/"), origin.hits("/live/ts360/")
    result = await check(checker, origin, "/live/master.m3u8")
    assert (result.reason, result.bitrate) == ("ok", best.bandwidth)
    assert best.uri.endswith("/live/ts360/index.m3u8")
    assert origin.hits("/live/ts234/") == before[0]  # the lower variant was never fetched
    assert origin.hits("/live/ts360/") >= before[1] + 2  # its playlist and newest segment


async def test_vod_is_not_live(checker: MakeChecker, origin: TestOrigin) -> None:
    result = await check(checker, origin, "/vod/master.m3u8", stale_check=True)
    assert (result.is_live, result.reason) == (False, "vod")


async def test_frozen_playlist_is_stale(checker: MakeChecker, origin: TestOrigin) -> None:
    started = time.perf_counter()
    result = await check(checker, origin, "/~stale/live/ts360/index.m3u8", stale_check=True)
    assert (result.is_live, result.reason) == (False, "stale")
    assert T <= time.perf_counter() - started < 2 * T + 1  # reloads after T and 1.5 T (RFC 8216 §6.3.4)
    assert result.response_time_ms is not None  # what was learned before the verdict is kept


@pytest.mark.parametrize(("path", "reason"), [
    ("/broken/ts360/index.m3u8", "segment http 404"),
    ("/~seg404/live/fmp4/index.m3u8", "segment http 404"),
    ("/~garbage/live/ts360/index.m3u8", "segment not media"),
    ("/~garbage/live/fmp4/index.m3u8", "segment not media"),
    ("/~garbage/live/audio/index.m3u8", "segment not media"),
    ("/~garbage/live/aes/index.m3u8", "decrypt failed"),
    ("/~html/live/master.m3u8", "not a playlist"),
    ("/~status=403/live/ts360/index.m3u8", "http 403"),
    ("/~status=503/live/master.m3u8", "http 503"),
    ("/live/nosuch/index.m3u8", "http 404"),
    ("/~loop/live/ts360/index.m3u8", "too many redirects"),
    ("/~referer/live/ts360/index.m3u8", "http 403"),
])
async def test_broken_streams_get_their_reason(
    checker: MakeChecker, origin: TestOrigin, path: str, reason: str
) -> None:
    result = await check(checker, origin, path)
    assert (result.is_live, result.reason) == (False, reason)


async def test_variant_failures_are_named(checker: MakeChecker, origin: TestOrigin) -> None:
    origin.kill("/live/ts360/")  # the variant the check picks
    result = await check(checker, origin, "/live/master.m3u8")
    assert result.reason == "variant http 404"
    assert result.response_time_ms is not None and result.bitrate and result.bitrate > 0


async def test_redirects_are_followed_and_uris_resolve_against_the_final_url(
    checker: MakeChecker, origin: TestOrigin
) -> None:
    result = await check(checker, origin, "/~redirect=3/live/master.m3u8")
    assert result.reason == "ok"


async def test_headers_are_sent_on_every_request(checker: MakeChecker, origin: TestOrigin) -> None:
    url = origin.url("/~referer/live/master-aes.m3u8")  # master, variant, segment and key all need it
    result = await checker(stale_check=True).check(url, {"Referer": REFERER})
    assert result.reason == "ok"


async def test_wrong_or_missing_key(
    checker: MakeChecker, origin: TestOrigin, http: aiohttp.ClientSession
) -> None:
    async with http.get(origin.url("/live/aes/index.m3u8")) as resp:
        text = await resp.text()
    body = text.replace('URI="key.key"', 'URI="' + origin.url("/custom/wrong.key") + '"')
    assert body != text
    origin.serve_text("/custom/wrong.key", b"0123456789abcdef", "application/octet-stream")
    wrong = origin.serve_text("/live/aes/wrong-key.m3u8", body, "application/vnd.apple.mpegurl")
    gone_body = body.replace("/custom/wrong.key", "/~status=403/k.key")
    gone = origin.serve_text("/live/aes/gone-key.m3u8", gone_body)
    results = await checker().check_many([(wrong, {}), (gone, {})])
    assert reasons(results) == ["decrypt failed", "key http 403"]


async def test_playlist_without_segments(checker: MakeChecker, origin: TestOrigin) -> None:
    empty = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:9\n"
    url = origin.serve_text("/custom/empty.m3u8", empty)
    assert (await checker().check(url)).reason == "no segments"


async def test_server_ignoring_range_is_read_only_as_far_as_needed(
    checker: MakeChecker, origin: TestOrigin, http: aiohttp.ClientSession
) -> None:
    async with http.get(origin.url("/vod/ts360/0.ts")) as resp:
        segment = await resp.read()
    origin.serve_text("/norange/0.ts", segment, "video/mp2t")  # served whole, 200, Range ignored
    url = origin.serve_text("/norange/index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n0.ts\n")
    result = await checker().check(url)
    assert (result.reason, result.bitrate) == ("ok", round(len(segment) * 8 / 2.0))


async def test_slow_upstream_times_out(checker: MakeChecker, origin: TestOrigin) -> None:
    started = time.perf_counter()
    result = await check(checker, origin, "/~delay=3000/live/ts360/index.m3u8", timeout=0.5)
    assert result.reason == "timeout"
    assert time.perf_counter() - started < 1.5


async def test_whole_check_has_a_deadline_beyond_each_request(
    checker: MakeChecker, origin: TestOrigin
) -> None:
    # Each request answers in 0.4 s, under the 0.5 s request timeout; master + variant + segment
    # together exceed the check's deadline of two request timeouts.
    started = time.perf_counter()
    result = await check(checker, origin, "/~delay=400/live/master.m3u8", timeout=0.5)
    assert result.reason == "timeout"
    assert time.perf_counter() - started < 1.5


async def test_huge_playlist_fails_fast_with_bounded_memory(checker: MakeChecker, origin: TestOrigin) -> None:
    cap = 1_000_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = await check(checker, origin, "/huge/50.m3u8", max_playlist_bytes=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.reason == "playlist too large"
    assert time.perf_counter() - started < 3
    assert peak < 8 * cap  # a 50 MB body read whole would peak far above this


async def test_connection_refused(checker: MakeChecker) -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        result = await checker().check(f"http://127.0.0.1:{port}/live.m3u8")
    assert (result.is_live, result.reason) == (False, "connection failed: refused")


async def test_private_address_is_refused_before_connecting(origin: TestOrigin) -> None:
    url = origin.url("/~id=guarded/live/ts360/index.m3u8")
    async with build_client(AddressGuard(allow_private=False)) as http:
        result = await HealthChecker(http, HealthSettings()).check(url)
    assert (result.is_live, result.reason) == (False, "private address refused")
    assert origin.hits("/~id=guarded/") == 0


async def test_check_many_keeps_order_and_isolates_failures(checker: MakeChecker, origin: TestOrigin) -> None:
    paths = ["/live/ts360/index.m3u8", "/~status=500/live/ts360/index.m3u8", "/vod/ts360/index.m3u8",
             "/~delay=2000/live/fmp4/index.m3u8", "/live/fmp4/index.m3u8", "/~html/live/ts234/index.m3u8"]
    seen: list[str] = []
    results = await checker(timeout=0.5).check_many(
        [(origin.url(p), {}) for p in paths], progress=lambda r: seen.append(r.url))
    assert [r.url for r in results] == [origin.url(p) for p in paths]
    assert reasons(results) == ["ok", "http 500", "vod", "timeout", "ok", "not a playlist"]
    assert sorted(seen) == sorted(origin.url(p) for p in paths)


async def test_bad_urls_get_a_reason_not_an_exception(checker: MakeChecker) -> None:
    results = await checker().check_many([("ftp://127.0.0.1/x.m3u8", {}), ("not a url", {})])
    assert reasons(results) == ["bad url", "bad url"]


async def test_stale_wait_holds_no_concurrency_slot(checker: MakeChecker, origin: TestOrigin) -> None:
    # 50 streams, 10 slots: a check holding its slot through the wait would take 5 T.
    items = [(origin.url(f"/many/{i}/index.m3u8"), {}) for i in range(1000, 1050)]
    started = time.perf_counter()
    results = await checker(stale_check=True, concurrency=10).check_many(items)
    elapsed = time.perf_counter() - started
    assert reasons(results) == ["ok"] * 50
    assert T <= elapsed < 2 * T + 1.0


async def test_sample_aes_is_sniffed_for_its_container_only(checker: MakeChecker, origin: TestOrigin) -> None:
    # SAMPLE-AES encrypts samples, not the container: no key is fetched (skd:// is not even HTTP).
    body = ('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:3\n'
            '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://key65",KEYFORMAT="com.apple.streamingkeydelivery"\n'
            '#EXTINF:2.0,\n/vod/ts360/0.ts\n#EXTINF:2.0,\n/vod/ts360/1.ts\n')
    result = await checker().check(origin.serve_text("/custom/sample-aes.m3u8", body))
    assert result.reason == "ok"


async def test_byterange_segments_fetch_their_sub_range(
    checker: MakeChecker, origin: TestOrigin, http: aiohttp.ClientSession
) -> None:
    async with http.get(origin.url("/vod/ts360/0.ts")) as resp:
        segment = await resp.read()
    assert len(segment) > 188 * 300
    head = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
    # The newest segment's offset is implied by the one before (RFC 8216 §4.3.2.2).
    ranges = "#EXTINF:1.0,\n#EXT-X-BYTERANGE:18800@0\n{0}\n#EXTINF:1.0,\n#EXT-X-BYTERANGE:37600\n{0}\n"
    ranged = origin.serve_text("/vod/ts360/ranged.m3u8", head + ranges.format("0.ts"))  # Range honoured
    # A server that ignores Range, with text before the sub-range: reading from 0 would see no media.
    origin.serve_text("/whole/packed.ts", b"not media " * 1880 + segment, "video/mp2t")
    whole = origin.serve_text("/whole/ranged.m3u8", head + ranges.format("packed.ts"))
    misaligned = origin.serve_text(
        "/whole/misaligned.m3u8", head + "#EXTINF:1.0,\n#EXT-X-BYTERANGE:4000@18801\npacked.ts\n")
    results = await checker().check_many([(ranged, {}), (whole, {}), (misaligned, {})])
    assert [(r.reason, r.bitrate) for r in results[:2]] == [("ok", 37600 * 8)] * 2
    assert results[2].reason == "ok"  # starts mid-packet: the sniff finds the next sync byte
