"""The m3u and page extractors over real HTTP against the local origin, and extract_all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from origin import TestOrigin
from slipstream.errors import PlaylistError, ProxyDenied, UpstreamError, UpstreamStatus
from slipstream.extractors.base import Extractor, ExtractorContext
from slipstream.extractors.m3u import M3UExtractor, M3UOptions
from slipstream.extractors.page import PageExtractor, PageOptions
from slipstream.extractors.registry import extract_all
from slipstream.http import AddressGuard, build_client
from slipstream.models import Stream

RESOURCES = Path(__file__).parent.parent / "resources"

PLAYLIST = """#EXTM3U user-agent="IPTVSmarters/1.0"
#EXTINF:-1 group-title="Formula 1",F1 Qualifying - Main feed (360p)
/live/master.m3u8
#EXTINF:-1 group-title="Formula 1",F1 Qualifying - Onboard
streams/onboard.m3u8
#EXTINF:-1 group-title="MotoGP",MotoGP Race [HD]
#EXTVLCOPT:http-referrer=http://referer.test/watch
{origin}/~referer/live/ts360/index.m3u8
#EXTINF:-1 group-title="MotoGP",Broken entry
rtmp://nowhere.example/live
"""

PAGE = """<!doctype html><html><head><title>Race weekend - F1 Sprint</title></head><body>
<video src="/live/master.m3u8"></video>
<iframe src="/embed/player.html?ch=2" title="Pit lane camera"></iframe>
<script>window.__DATA__ = {"backup":"\\/live\\/ts234\\/index.m3u8?session=abc"};</script>
</body></html>"""


@pytest.fixture
async def ctx() -> AsyncIterator[ExtractorContext]:
    # The origin is on 127.0.0.1, so private upstreams are allowed here (and only here).
    async with build_client(AddressGuard(allow_private=True)) as http:
        yield ExtractorContext(http=http, base_dir=str(RESOURCES / "m3u"))


def m3u(ctx: ExtractorContext, url: str, **options: object) -> M3UExtractor:
    return M3UExtractor(ctx, M3UOptions(url=url, **options), key="iptv", name="IPTV")  # type: ignore[arg-type]


def page(ctx: ExtractorContext, *urls: str, **options: object) -> PageExtractor:
    return PageExtractor(ctx, PageOptions(pages=list(urls), **options), key="web")  # type: ignore[arg-type]


async def test_m3u_over_http(origin: TestOrigin, ctx: ExtractorContext) -> None:
    url = origin.serve_text("/it/m3u/list.m3u", PLAYLIST.format(origin=origin.base_url),
                            "audio/x-mpegurl")
    streams = await m3u(ctx, url).extract()
    assert [(s.title, s.url, s.quality) for s in streams] == [
        ("F1 Qualifying - Main feed", origin.url("/live/master.m3u8"), "360p"),
        ("F1 Qualifying - Onboard", origin.url("/it/m3u/streams/onboard.m3u8"), None),
        ("MotoGP Race", origin.url("/~referer/live/ts360/index.m3u8"), "HD"),
    ]
    assert [(s.series, s.session_type) for s in streams] == [
        ("f1", "qualifying"), ("f1", "qualifying"), ("motogp", "race")]
    assert streams[2].headers == {"User-Agent": "IPTVSmarters/1.0", "Referer": origin.REFERER}


async def test_m3u_entry_headers_really_open_the_stream(
    origin: TestOrigin, ctx: ExtractorContext
) -> None:
    url = origin.serve_text("/it/m3u/headers.m3u", PLAYLIST.format(origin=origin.base_url))
    stream = (await m3u(ctx, url).extract())[2]
    async with ctx.http.get(stream.url, headers=stream.headers) as resp:
        assert resp.status == 200
        assert (await resp.text()).startswith("#EXTM3U")
    async with ctx.http.get(stream.url) as resp:
        assert resp.status == 403


async def test_m3u_source_headers_are_sent_for_the_playlist(
    origin: TestOrigin, ctx: ExtractorContext
) -> None:
    url = origin.serve_text("/~ua/it/m3u/ua.m3u", "#EXTM3U\n#EXTINF:-1,One\n/live/master.m3u8\n")
    with pytest.raises(UpstreamStatus, match="http 403"):
        await m3u(ctx, url).extract()
    streams = await m3u(ctx, url, headers={"user-agent": origin.USER_AGENT}).extract()
    assert [s.url for s in streams] == [origin.url("/live/master.m3u8")]
    assert streams[0].headers == {"User-Agent": origin.USER_AGENT}


async def test_m3u_relative_entries_follow_redirects(
    origin: TestOrigin, ctx: ExtractorContext
) -> None:
    origin.serve_text("/it/m3u/moved.m3u", "#EXTM3U\n#EXTINF:-1,Moved\nfeeds/a.m3u8\n")
    streams = await m3u(ctx, origin.url("/~redirect=2/it/m3u/moved.m3u")).extract()
    assert [s.url for s in streams] == [origin.url("/it/m3u/feeds/a.m3u8")]


async def test_m3u_tokenised_list_keeps_stable_ids(
    origin: TestOrigin, ctx: ExtractorContext
) -> None:
    extractor = m3u(ctx, origin.url("/tokens/60.m3u"), groups=["token"], titles="360p")
    first, second = await extractor.extract(), await extractor.extract()
    assert [s.title for s in first] == ["Token live TS", "Token live fMP4"]
    assert "sig=" in first[0].url and first[0].id == second[0].id
    async with ctx.http.get(first[0].url) as resp:
        assert resp.status == 200


@pytest.mark.parametrize(("path", "error", "message"), [
    ("/it/m3u/missing.m3u", UpstreamStatus, "http 404"),
    ("/~status=503/it/m3u/x.m3u", UpstreamStatus, "http 503"),
    ("/~loop/it/m3u/x.m3u", UpstreamError, "redirect"),
    ("/huge/2.m3u8", UpstreamError, "too large"),
    ("/~html/live/master.m3u8", PlaylistError, "not an M3U playlist"),
    ("/live/ts360/index.m3u8", PlaylistError, "HLS stream playlist"),
])
async def test_m3u_upstream_failures_are_translated(
    origin: TestOrigin, ctx: ExtractorContext, path: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await m3u(ctx, origin.url(path), max_bytes=100_000).extract()


async def test_m3u_guard_refuses_private_upstream_before_connecting(
    origin: TestOrigin,
) -> None:
    url = origin.serve_text("/it/m3u/guarded.m3u", "#EXTM3U\n")
    async with build_client(AddressGuard()) as http:
        extractor = M3UExtractor(ExtractorContext(http=http), M3UOptions(url=url))
        with pytest.raises(ProxyDenied, match="private address"):
            await extractor.extract()
    assert origin.hits("/it/m3u/guarded.m3u") == 0


async def test_page_over_http(origin: TestOrigin, ctx: ExtractorContext) -> None:
    url = origin.serve_text("/it/page/live.html", PAGE, "text/html")
    streams = await page(ctx, url).extract()
    assert [(s.title, s.stream_type, s.url) for s in streams] == [
        ("Race weekend - F1 Sprint #1", "m3u8", origin.url("/live/master.m3u8")),
        ("Pit lane camera", "embed", origin.url("/embed/player.html?ch=2")),
        ("Race weekend - F1 Sprint #3", "m3u8", origin.url("/live/ts234/index.m3u8?session=abc")),
    ]
    assert streams[0].headers == {"Referer": url}
    assert streams[1].embed_url == streams[1].url and streams[1].headers == {}
    assert {(s.series, s.session_type) for s in streams[::2]} == {("f1", "sprint")}


async def test_page_keep_and_drop(origin: TestOrigin, ctx: ExtractorContext) -> None:
    url = origin.serve_text("/it/page/filters.html", PAGE, "text/html")
    kept = await page(ctx, url, keep=r"\.m3u8", drop="ts234").extract()
    assert [s.url for s in kept] == [origin.url("/live/master.m3u8")]
    assert kept[0].title == "Race weekend - F1 Sprint"


async def test_page_referer_is_the_final_url_after_redirects(
    origin: TestOrigin, ctx: ExtractorContext
) -> None:
    origin.serve_text("/it/page/final.html", PAGE, "text/html")
    streams = await page(ctx, origin.url("/~redirect=1/it/page/final.html"), keep="m3u8").extract()
    assert {s.headers["Referer"] for s in streams} == {origin.url("/it/page/final.html")}


async def test_one_page_failing_keeps_the_others(
    origin: TestOrigin, ctx: ExtractorContext, caplog: pytest.LogCaptureFixture
) -> None:
    good = origin.serve_text("/it/page/good.html", PAGE, "text/html")
    streams = await page(ctx, origin.url("/it/page/gone.html"), good).extract()
    assert len(streams) == 3
    assert "/it/page/gone.html failed: http 404" in caplog.text


async def test_every_page_failing_raises(origin: TestOrigin, ctx: ExtractorContext) -> None:
    with pytest.raises(UpstreamStatus, match="http 404"):
        await page(ctx, origin.url("/it/page/none.html")).extract()
    with pytest.raises(UpstreamError, match="all 2 pages failed"):
        await page(ctx, origin.url("/it/page/a.html"), origin.url("/~status=500/b")).extract()


class Raising(Extractor):
    site_key, site_name = "raising", "Raising"

    async def extract(self) -> list[Stream]:
        raise RuntimeError("the site changed its layout")


class Hanging(Extractor):
    site_key, site_name = "hanging", "Hanging"

    async def extract(self) -> list[Stream]:
        await asyncio.Event().wait()
        return []


async def test_extract_all_failures_leave_the_others_intact(
    origin: TestOrigin, ctx: ExtractorContext
) -> None:
    list_url = origin.serve_text("/it/all/list.m3u", PLAYLIST.format(origin=origin.base_url))
    page_url = origin.serve_text("/it/all/page.html", PAGE, "text/html")
    slow = M3UExtractor(ctx, M3UOptions(url=origin.url("/~delay=2000/it/all/list.m3u")),
                        key="slow", timeout=0.3)
    extractors = [Raising(ctx), m3u(ctx, list_url), Hanging(ctx, timeout=0.3), slow,
                  page(ctx, page_url)]
    outcomes = await extract_all(extractors)
    assert [(o.extractor.key, o.error, len(o.streams)) for o in outcomes] == [
        ("raising", "RuntimeError: the site changed its layout", 0),
        ("iptv", None, 3),
        ("hanging", "timeout after 0.3s", 0),
        ("slow", "timeout after 0.3s", 0),
        ("web", None, 3),
    ]
    assert all(o.duration_s < 3 for o in outcomes)
