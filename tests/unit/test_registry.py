"""The extractor registry: built-in and entry-point types, [[sources]] checks, extract_all."""

from __future__ import annotations

import asyncio
import logging
import re
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from slipstream.config import build_settings
from slipstream.errors import ConfigError, UpstreamStatus
from slipstream.extractors.base import Extractor, ExtractorContext
from slipstream.extractors.curated import CuratedExtractor
from slipstream.extractors.m3u import M3UExtractor
from slipstream.extractors.page import PageExtractor
from slipstream.extractors.registry import (
    build_extractors,
    builtin_types,
    entry_point_types,
    extract_all,
    validate_sources,
)
from slipstream.http import AddressGuard, build_client
from slipstream.models import Stream

PLUGIN_MODULE = '''
from pydantic import BaseModel, ConfigDict
from slipstream.extractors.base import Extractor


class ChannelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str


class ChannelExtractor(Extractor):
    site_key = "channel"
    site_name = "One channel"
    Options = ChannelOptions

    async def extract(self):
        return [self.stream(f"https://tv.example/{self.options.channel}.m3u8",
                            title=f"{self.options.channel} F1 Race")]


class NotAnExtractor:
    pass
'''

ENTRY_POINTS = """
[slipstream.extractors]
tvchannel = regtest_plugin:ChannelExtractor
broken = regtest_missing_module:Whatever
notone = regtest_plugin:NotAnExtractor
m3u = regtest_plugin:ChannelExtractor
"""


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real installed distribution (module + dist-info) on sys.path."""
    (tmp_path / "regtest_plugin.py").write_text(PLUGIN_MODULE)
    info = tmp_path / "regtest_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: regtest-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.fixture
async def ctx() -> AsyncIterator[ExtractorContext]:
    async with build_client(AddressGuard()) as http:
        yield ExtractorContext(http=http, base_dir="/srv/lists")


def settings_with(*sources: dict[str, Any]) -> Any:
    return build_settings({"sources": list(sources)}, "/etc/slipstream.toml")


def test_builtin_types() -> None:
    types = builtin_types()
    assert types["m3u"] is M3UExtractor
    assert types["curated"] is CuratedExtractor
    assert types["page"] is PageExtractor
    assert types["demo"].site_key == "demo"
    assert CuratedExtractor.trusted and not M3UExtractor.trusted


def test_entry_points_load_and_broken_ones_are_skipped(
    plugin_dist: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        types = entry_point_types()
    assert types["tvchannel"].__name__ == "ChannelExtractor"
    assert "broken" not in types and "notone" not in types
    assert "'broken'" in caplog.text and "failed to load" in caplog.text
    assert "'notone'" in caplog.text and "not an Extractor subclass" in caplog.text


async def test_a_plugin_is_usable_as_a_source_type(
    plugin_dist: Path, ctx: ExtractorContext
) -> None:
    settings = settings_with({"type": "tvchannel", "key": "tv", "channel": "sky", "timeout": "5s"})
    [extractor] = build_extractors(settings, ctx)
    assert (extractor.key, extractor.name, extractor.timeout) == ("tv", "One channel", 5.0)
    [outcome] = await extract_all([extractor])
    assert [(s.url, s.site_key, s.series, s.session_type) for s in outcome.streams] == [
        ("https://tv.example/sky.m3u8", "tv", "f1", "race")]


def test_a_plugin_cannot_shadow_a_builtin(plugin_dist: Path, ctx: ExtractorContext) -> None:
    settings = settings_with({"type": "m3u", "key": "a", "path": "x.m3u"})
    assert isinstance(build_extractors(settings, ctx)[0], M3UExtractor)


async def test_build_extractors_one_instance_per_table(ctx: ExtractorContext) -> None:
    settings = settings_with(
        {"type": "m3u", "key": "one", "name": "First list", "url": "https://a.example/1.m3u"},
        {"type": "m3u", "key": "two", "path": "lists/2.m3u", "groups": ["Sports"]},
        {"type": "curated", "key": "mine", "streams": [{"title": "T", "url": "https://c/x.m3u8"}]},
    )
    extractors = build_extractors(settings, ctx)
    assert [(type(e).__name__, e.key, e.name) for e in extractors] == [
        ("M3UExtractor", "one", "First list"), ("M3UExtractor", "two", "M3U playlist"),
        ("CuratedExtractor", "mine", "Curated")]
    assert extractors[1].options.groups == ["Sports"]  # type: ignore[attr-defined]
    assert all(e.http is ctx.http for e in extractors)


CURATED_OK = {"type": "curated", "key": "c", "streams": [{"url": "https://c.example/a.m3u8"}]}


@pytest.mark.parametrize(("source", "field", "reason"), [
    ({"type": "youtube", "key": "y"}, "sources[1].type", "unknown extractor type 'youtube'"),
    ({"type": "m3u", "key": "m"}, "sources[1].url", "missing"),
    ({"type": "m3u", "key": "m", "url": "https://a/x", "path": "x.m3u"}, "sources[1].path",
     "not both"),
    ({"type": "m3u", "key": "m", "url": "file:///etc/passwd"}, "sources[1].url",
     "not an http(s) URL"),
    ({"type": "m3u", "key": "m", "path": "x", "titles": "([a-z]"}, "sources[1].titles",
     "bad regular expression"),
    ({"type": "m3u", "key": "m", "path": "x", "group": ["F1"]}, "sources[1].group",
     "unknown key for a 'm3u' source"),
    ({"type": "page", "key": "p", "pages": ["https://ok.example/", "javascript:alert(1)"]},
     "sources[1].pages[1]", "not an http(s) URL"),
    ({"type": "page", "key": "p", "pages": ["https://ok.example/"], "drop": "*"},
     "sources[1].drop", "bad regular expression"),
    ({"type": "curated", "key": "c2", "streams": [{"title": "no url"}]},
     "sources[1].streams[0].url", "missing"),
    ({"type": "curated", "key": "c2", "streams": [
        {"url": "https://a/x.m3u8"}, {"url": "https://a/y.m3u8", "embed_url": "https://a/e"}]},
     "sources[1].streams[1].embed_url", "not both"),
    ({"type": "curated", "key": "c2", "streams": [{"url": "https://a/x.m3u8", "qualty": "HD"}]},
     "sources[1].streams[0].qualty", "unknown key"),
])
def test_bad_sources_name_file_field_and_reason(
    source: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as info:
        validate_sources(settings_with(CURATED_OK, source))
    assert (info.value.file, info.value.field) == ("/etc/slipstream.toml", field)
    assert reason in info.value.reason


def test_good_sources_validate() -> None:
    validate_sources(settings_with(
        CURATED_OK, {"type": "page", "key": "p", "pages": ["https://ok.example/"], "keep": "m3u8"}))


class Listing(Extractor):
    site_key, site_name = "listing", "Listing"

    async def extract(self) -> list[Stream]:
        return [self.stream("https://a.example/q.m3u8", title="MotoGP Qualifying Q2")]


class Failing(Extractor):
    site_key, site_name = "failing", "Failing"

    async def extract(self) -> list[Stream]:
        raise UpstreamStatus(404, "https://gone.example/list.m3u")


class Hanging(Extractor):
    site_key, site_name = "hanging", "Hanging"

    async def extract(self) -> list[Stream]:
        await asyncio.Event().wait()
        return []


class InnerTimeout(Extractor):
    site_key, site_name = "inner", "Inner timeout"

    async def extract(self) -> list[Stream]:
        raise TimeoutError("upstream read timed out")


class Sloppy(Extractor):
    site_key, site_name = "sloppy", "Sloppy plugin"

    async def extract(self) -> list[Stream]:
        return [self.stream("https://s.example/a.m3u8"), "not a stream"]  # type: ignore[list-item]


async def test_extract_all_isolates_failures(
    ctx: ExtractorContext, caplog: pytest.LogCaptureFixture
) -> None:
    extractors = [Listing(ctx), Failing(ctx), Hanging(ctx, timeout=0.2), InnerTimeout(ctx),
                  Sloppy(ctx)]
    with caplog.at_level(logging.INFO, logger="slipstream.extractors.registry"):
        outcomes = await extract_all(extractors)
    assert [o.extractor for o in outcomes] == extractors
    assert [o.error for o in outcomes] == [
        None, "UpstreamStatus: http 404", "timeout after 0.2s",
        "TimeoutError: upstream read timed out", None]
    listing = outcomes[0].streams
    assert [(s.title, s.series, s.session_type) for s in listing] == [
        ("MotoGP Qualifying Q2", "motogp", "qualifying")]
    assert [s.url for s in outcomes[4].streams] == ["https://s.example/a.m3u8"]
    assert outcomes[1].streams == [] and outcomes[2].streams == []
    assert 0.2 <= outcomes[2].duration_s < 2.0
    lines = {m.split(":")[0]: m for r in caplog.records
             if (m := r.getMessage()).startswith("extractor ")}
    assert sorted(lines) == sorted(f"extractor {e.key}" for e in extractors)
    assert lines["extractor listing"].startswith("extractor listing: 1 streams in ")
    assert re.fullmatch(r"extractor failing: failed after \d+\.\ds: UpstreamStatus: http 404",
                        lines["extractor failing"])
    assert "sloppy: dropped 1 results that are not Streams" in caplog.text


async def test_extract_all_of_nothing() -> None:
    assert await extract_all([]) == []
