"""The curated extractor: streams written in the config file, trusted, tagged where left out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from slipstream.config import build_settings
from slipstream.extractors.base import ExtractorContext
from slipstream.extractors.registry import build_extractors
from slipstream.http import AddressGuard, build_client

SOURCE = {
    "type": "curated", "key": "picks", "name": "My picks",
    "streams": [
        {"title": "Onboard channel", "url": "https://example.org/onboard/master.m3u8",
         "quality": "1080p", "series": "F1", "headers": {"referer": "https://example.org/"}},
        {"title": "Pit lane cam", "embed_url": "https://example.org/embed/pitlane"},
        {"title": "MotoGP Sprint Race", "url": "https://example.org/motogp.m3u8",
         "session_type": "race"},
        {"url": "https://cdn.example.org/live/wrc/ss5.m3u8"},
    ],
}


@pytest.fixture
async def ctx() -> AsyncIterator[ExtractorContext]:
    async with build_client(AddressGuard()) as http:
        yield ExtractorContext(http=http)


async def test_curated_streams_as_configured(ctx: ExtractorContext) -> None:
    [extractor] = build_extractors(build_settings({"sources": [SOURCE]}, "s.toml"), ctx)
    streams = await extractor.extract()
    assert [(s.title, s.stream_type, s.url, s.embed_url) for s in streams] == [
        ("Onboard channel", "m3u8", "https://example.org/onboard/master.m3u8", None),
        ("Pit lane cam", "embed", "https://example.org/embed/pitlane",
         "https://example.org/embed/pitlane"),
        ("MotoGP Sprint Race", "m3u8", "https://example.org/motogp.m3u8", None),
        ("cdn.example.org/live/wrc/ss5.m3u8", "m3u8", "https://cdn.example.org/live/wrc/ss5.m3u8",
         None),
    ]
    assert all(s.trusted and s.site_key == "picks" and s.site_name == "My picks" for s in streams)
    first = streams[0]
    assert (first.quality, first.series, first.headers) == (
        "1080p", "f1", {"Referer": "https://example.org/"})


async def test_written_tags_win_over_title_tags(ctx: ExtractorContext) -> None:
    [extractor] = build_extractors(build_settings({"sources": [SOURCE]}, "s.toml"), ctx)
    streams = await extractor.extract()
    assert [(s.series, s.session_type) for s in streams] == [
        ("f1", None), (None, None), ("motogp", "race"), ("wrc", None)]
