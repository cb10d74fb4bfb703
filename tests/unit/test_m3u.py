"""The M3U / IPTV playlist parser and the m3u extractor over playlist files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from slipstream.errors import PlaylistError
from slipstream.extractors.base import ExtractorContext
from slipstream.extractors.m3u import M3UExtractor, M3UOptions, parse_m3u
from slipstream.extractors.support import decode_text
from slipstream.http import AddressGuard, build_client

M3U_DIR = Path(__file__).parent.parent / "resources" / "m3u"
PLAYLIST_UA = {"User-Agent": "IPTVSmarters/1.0"}


def load(name: str) -> str:
    return decode_text((M3U_DIR / name).read_bytes())


def test_playlist_attributes_on_the_extm3u_line() -> None:
    result = parse_m3u(load("motorsport.m3u"))
    assert result.attributes["url-tvg"] == "https://epg.example.net/guide.xml.gz"
    assert result.attributes["user-agent"] == "IPTVSmarters/1.0"


def test_every_form_of_entry_is_read() -> None:
    result = parse_m3u(load("motorsport.m3u"))
    got = [(e.title, e.quality, e.group, e.stream_type) for e in result.entries]
    assert got == [
        ("F1 TV - Main feed", "1080p", "Formula 1", "m3u8"),
        ("Onboard: Verstappen", "720p", "Formula 1", "m3u8"),
        ("Sky Sports F1 HD", "HD", "Formula 1", "m3u8"),
        ("MotoGP Sprint - Assen", "FHD", "MotoGP", "m3u8"),
        ("Moto2 Race | World Feed", None, "MotoGP", "m3u8"),
        ("WRC Rally Finland SS5", None, "Rally;Motorsport", "m3u8"),
        ("Eurosport 1 DE 4K - 24 Hours of Le Mans", "4K", "Motorsport", "m3u8"),
        ("IndyCar Qualifying Player Page", None, "Motorsport", "embed"),
        ("Weather Channel", None, "News", "m3u8"),
    ]
    assert result.skipped == []


def test_tvg_attributes_and_token_urls_are_kept_whole() -> None:
    first = parse_m3u(load("motorsport.m3u")).entries[0]
    assert first.url == "https://cdn1.example.net/live/f1tv/main/index.m3u8?token=abc123&exp=1767225600"
    assert (first.tvg_id, first.tvg_name) == ("F1TV.uk", "F1 TV Main Feed")
    assert first.logo == "https://logos.example.net/f1tv.png"
    assert first.headers == PLAYLIST_UA


def test_headers_from_every_form_with_canonical_names() -> None:
    entries = parse_m3u(load("motorsport.m3u")).entries
    assert entries[1].headers == {
        "User-Agent": "Mozilla/5.0 (Windows NT 10.0)", "Referer": "https://f1.example.org/"}
    assert entries[2].headers == {
        "User-Agent": "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0)",
        "Referer": "https://sky.example.com/watch", "Origin": "https://sky.example.com"}
    assert entries[3].headers == {
        **PLAYLIST_UA, "Referer": "https://moto.example.com/", "Cookie": "sess=42; region=eu"}


def test_kodi_suffix_is_cut_from_the_url_and_url_decoded() -> None:
    moto2 = parse_m3u(load("motorsport.m3u")).entries[4]
    assert moto2.url == "https://moto.example.com/hls/moto2/master.m3u8"
    assert moto2.headers == {
        "User-Agent": "Mozilla/5.0 (Kodi)", "Referer": "https://moto.example.com/player?id=7"}


def test_url_without_extension_is_still_an_hls_candidate() -> None:
    sky = parse_m3u(load("motorsport.m3u")).entries[2]
    assert sky.url == "http://sky.example.com:8080/live/user123/pass456/1001"
    assert sky.stream_type == "m3u8"


def test_bad_entries_are_skipped_with_reasons_and_lines() -> None:
    result = parse_m3u(load("malformed.m3u"))
    assert [e.url for e in result.entries] == [
        "https://good.example.com/a.m3u8", "https://good.example.com/b.m3u8"]
    got = [(s.line, s.reason.split(" ")[0:2]) for s in result.skipped]
    assert got == [
        (4, ["unterminated", "quote"]), (6, ["#EXTINF", "with"]), (8, ["unsupported", "URL"]),
        (10, ["bad", "Kodi"]), (11, ["bad", "#EXTHTTP"]), (15, ["relative", "URL"]),
        (17, ["not", "a"]), (19, ["unsupported", "URL"]), (20, ["malformed", "#EXTINF:"]),
        (24, ["#EXTINF", "with"]),
    ]


def test_relative_urls_resolve_against_the_playlist_url() -> None:
    result = parse_m3u(load("malformed.m3u"), base_url="https://lists.example.net/sub/list.m3u")
    assert "https://lists.example.net/sub/streams/local.m3u8" in [e.url for e in result.entries]


def test_crlf_bom_blank_lines_and_comments() -> None:
    result = parse_m3u(load("crlf_bom.m3u"))
    assert [(e.title, e.quality, e.url) for e in result.entries] == [
        ("F1 Qualifying", "720p", "https://cdn.example.net/quali/index.m3u8"),
        ("F1 Race", "HD", "https://cdn.example.net/race/index.m3u8"),
    ]


def test_latin1_playlist_is_decoded() -> None:
    entry = parse_m3u(load("latin1.m3u")).entries[0]
    assert (entry.title, entry.quality) == ("Fórmula 1 - Clasificación", "1080p")


def test_plain_url_list_without_header() -> None:
    entries = parse_m3u(load("plain.m3u")).entries
    assert [e.title for e in entries] == ["one", "stream", "three"]


def test_quoted_commas_in_attributes_do_not_end_the_title() -> None:
    text = '#EXTM3U\n#EXTINF:-1 group-title="Motor, Racing" tvg-name=\'A,B\',Title, with comma\n' \
           "https://x.example.com/a.m3u8\n"
    entry = parse_m3u(text).entries[0]
    assert (entry.group, entry.tvg_name, entry.title) == ("Motor, Racing", "A,B", "Title, with comma")


@pytest.mark.parametrize(("name", "reason"), [
    ("not_m3u.html", "starts with '<!DOCTYPE html>'"),
    ("binary.m3u", "binary data"),
    ("hls_media.m3u8", "HLS stream playlist"),
])
def test_files_that_are_not_channel_lists_are_refused(name: str, reason: str) -> None:
    with pytest.raises(PlaylistError, match=reason.replace("(", r"\(")):
        parse_m3u(load(name))


@pytest.mark.parametrize("text", ["", "  \n\n", '{"channels": []}'])
def test_empty_or_json_is_not_a_playlist(text: str) -> None:
    with pytest.raises(PlaylistError, match="not an M3U playlist"):
        parse_m3u(text)


def test_header_only_playlist_has_no_entries() -> None:
    result = parse_m3u("#EXTM3U\n")
    assert (result.entries, result.skipped) == ([], [])


@pytest.fixture
async def ctx() -> AsyncIterator[ExtractorContext]:
    async with build_client(AddressGuard()) as http:
        yield ExtractorContext(http=http, base_dir=str(M3U_DIR))


async def test_extractor_reads_a_file_filters_and_tags(ctx: ExtractorContext) -> None:
    options = M3UOptions(path="motorsport.m3u", groups=["formula 1", "MOTORSPORT"],
                         titles="f1|onboard|le mans", headers={"referer": "https://src.example/"})
    streams = await M3UExtractor(ctx, options, key="sports", name="Sports").extract()
    assert [(s.title, s.series) for s in streams] == [
        ("F1 TV - Main feed", "f1"), ("Onboard: Verstappen", "f1"), ("Sky Sports F1 HD", "f1"),
        ("Eurosport 1 DE 4K - 24 Hours of Le Mans", "wec"),
    ]
    assert {s.site_key for s in streams} == {"sports"}
    # The source's headers sit under the entry's own.
    assert streams[0].headers == {"Referer": "https://src.example/", **PLAYLIST_UA}
    assert streams[1].headers["Referer"] == "https://f1.example.org/"


async def test_extractor_group_filter_matches_one_of_several_groups(ctx: ExtractorContext) -> None:
    streams = await M3UExtractor(ctx, M3UOptions(path="motorsport.m3u", groups=["rally"])).extract()
    assert [(s.title, s.series, s.session_type) for s in streams] == [
        ("WRC Rally Finland SS5", "wrc", None)]


async def test_extractor_embed_entry_and_session_tags(ctx: ExtractorContext) -> None:
    streams = await M3UExtractor(ctx, M3UOptions(path="motorsport.m3u")).extract()
    by_title = {s.title: s for s in streams}
    page = by_title["IndyCar Qualifying Player Page"]
    assert (page.stream_type, page.embed_url, page.series, page.session_type) == (
        "embed", "https://indy.example.com/watch/qualifying.html", "indycar", "qualifying")
    assert by_title["MotoGP Sprint - Assen"].session_type == "sprint"
    assert len(streams) == 9


async def test_extractor_missing_file_is_a_playlist_error(ctx: ExtractorContext) -> None:
    extractor = M3UExtractor(ctx, M3UOptions(path="nowhere.m3u"))
    with pytest.raises(PlaylistError, match="cannot read playlist file .*nowhere.m3u"):
        await extractor.extract()


async def test_extractor_refuses_a_file_over_the_size_cap(ctx: ExtractorContext) -> None:
    extractor = M3UExtractor(ctx, M3UOptions(path="motorsport.m3u", max_bytes=1024))
    with pytest.raises(PlaylistError, match="too large"):
        await extractor.extract()
