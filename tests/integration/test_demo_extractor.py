"""The built-in demo source: its origin serves playable channels and the extractor lists them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from slipstream.demo.media import MediaSet
from slipstream.demo.origin import DemoOrigin, start_demo_origin
from slipstream.errors import SlipstreamError
from slipstream.extractors.base import ExtractorContext
from slipstream.extractors.demo import DemoExtractor


@pytest.fixture
async def demo(media: MediaSet) -> AsyncIterator[DemoOrigin]:
    origin = await start_demo_origin(media)
    yield origin
    await origin.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_extractor_lists_every_demo_channel(demo: DemoOrigin, http: aiohttp.ClientSession) -> None:
    streams = await DemoExtractor(ExtractorContext(http=http, extras={"demo_origin": demo})).extract()
    assert [(s.title, s.url) for s in streams] == [(c.title, demo.base_url + c.path) for c in demo.channels]
    assert {s.site_key for s in streams} == {"demo"} and all(s.title.startswith("Demo ") for s in streams)
    assert {s.series for s in streams} >= {"f1", "motogp"}
    assert all(s.quality and s.session_type for s in streams)


async def test_channels_answer_and_the_broken_one_fails(
    demo: DemoOrigin, http: aiohttp.ClientSession
) -> None:
    for channel in demo.channels:
        async with http.get(demo.url(channel)) as resp:
            assert resp.status == 200, channel.slug
            last = (await resp.text()).strip().splitlines()[-1]
        base = demo.url(channel).rsplit("/", 1)[0]
        if last.endswith(".m3u8"):  # a master: follow its last variant
            async with http.get(f"{base}/{last}") as resp:
                base, last = f"{base}/{last.rsplit('/', 1)[0]}", (await resp.text()).strip().splitlines()[-1]
        async with http.get(f"{base}/{last}") as resp:
            broken = "broken" in channel.slug or "broken" in channel.title
            assert resp.status == (404 if broken else 200), channel.slug


async def test_ffmpeg_plays_the_demo_race_feed(demo: DemoOrigin) -> None:
    # The origin runs on this test's loop, so ffmpeg runs as an asyncio subprocess.
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-nostdin", "-i", demo.url(demo.channels[0]), "-t", "5", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    stderr = err.decode()
    assert proc.returncode == 0, stderr[-2000:]
    assert "Video: h264" in stderr and "Audio: aac" in stderr


async def test_extractor_without_a_running_origin_says_so(http: aiohttp.ClientSession) -> None:
    with pytest.raises(SlipstreamError, match="demo origin is not running"):
        await DemoExtractor(ExtractorContext(http=http)).extract()
