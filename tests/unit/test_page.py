"""Finding HLS URLs and embeddable iframes in web pages (pure part of the page extractor)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from slipstream.extractors.page import Found, PageOptions, scan_page

PAGES = Path(__file__).parent.parent / "resources" / "pages"
PAGE_URL = "https://watch.example.com/live/today"


def scan(name: str, url: str = PAGE_URL) -> tuple[str, list[Found]]:
    result = scan_page((PAGES / name).read_text(encoding="utf-8"), url)
    return result.title, result.found


def test_live_page_finds_every_form_in_page_order() -> None:
    title, found = scan("live.html")
    assert title == "Motorsport Live - F1 Qualifying & More"
    assert found == [
        Found("https://watch.example.com/hls/main/master.m3u8", "m3u8"),
        Found("https://cdn.example.net/alt/index.m3u8?token=a1b2&exp=1767225600", "m3u8"),
        Found("https://player.example.org/embed/onboard?ch=1", "embed", "Onboard camera"),
        Found("https://player.example.org/embed/pitlane", "embed"),
        Found("https://watch.example.com/embed/lazy-loaded", "embed", "Data channel"),
        Found("https://cdn3.example.net/ld/pitlane.m3u8", "m3u8"),
        Found("https://cdn2.example.net/live/f1/playlist.m3u8"
              "?hdnts=exp%3D1767225600~hmac%3Dab12", "m3u8"),
        Found("https://cdn4.example.net/live/channel.m3u8", "m3u8"),
        Found("https://watch.example.com/live/streams/backup.m3u8", "m3u8"),
    ]


def test_progressive_files_blank_iframes_and_prose_are_not_streams() -> None:
    urls = [f.url for f in scan("live.html")[1]]
    assert not any(u.endswith(".mp4") or u.startswith("about:") for u in urls)
    assert not any("nothing.m3u8" in u for u in urls)


def test_the_same_stream_twice_is_found_once() -> None:
    urls = [f.url for f in scan("live.html")[1]]
    assert urls.count("https://watch.example.com/hls/main/master.m3u8") == 1


def test_relative_urls_follow_the_final_page_url() -> None:
    found = scan("live.html", "https://mirror.example.org/watch/")[1]
    assert found[0].url == "https://mirror.example.org/hls/main/master.m3u8"
    assert found[-1].url == "https://mirror.example.org/watch/streams/backup.m3u8"


def test_base_href_is_honoured() -> None:
    title, found = scan("base_href.html")
    assert title == "Rally Finland SS5 - WRC"
    assert found == [Found("https://static.example.com/players/stream/index.m3u8", "m3u8")]


def test_a_page_without_streams() -> None:
    assert scan("nothing.html") == ("Schedule", [])


def test_json_with_escaped_slashes() -> None:
    title, found = scan("api.json", "https://api.example.com/v1/event/42")
    assert title == "api.example.com/v1/event/42"
    assert [f.url for f in found] == [
        "https://moto.example.com/feeds/world/master.m3u8?st=abc&e=1767225600",
        "https://api.example.com/feeds/onboard/master.m3u8",
    ]


def test_broken_markup_does_not_stop_the_scan() -> None:
    text = '<html><title>Half</title><div><iframe src="/e/1" title="x"><p>\n' \
           '<video src="a.m3u8" <source src=\n<script>var u = "https://c.example/b.m3u8";'
    found = scan_page(text, "https://w.example/p/")
    assert "https://c.example/b.m3u8" in [f.url for f in found.found]
    assert found.found[0] == Found("https://w.example/e/1", "embed", "x")


@pytest.mark.parametrize(("options", "field"), [
    ({"pages": []}, "pages"),
    ({"pages": ["ftp://x.example/"]}, "pages"),
    ({"pages": ["https://x.example/"], "keep": "(unclosed"}, "keep"),
    ({"pages": ["https://x.example/"], "drop": "["}, "drop"),
    ({"pages": ["https://x.example/"], "unknown": 1}, "unknown"),
])
def test_bad_options_are_refused(options: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        PageOptions(**options)
    assert info.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize(("hostile", "still_found"), [
    ('<img src="data:image/png;base64,' + "ab//cd+/" * 500_000 + '">', True),
    ("/" * 4_000_000, True),
    (".m3u8 " * 700_000, False),              # past the cap on candidates
    ('<video src="x.m3u8">' * 100_000, False),
])
def test_hostile_pages_cost_linear_time(hostile: str, still_found: bool) -> None:
    text = hostile + '<script>var u = "https://c.example/after.m3u8";</script>'
    started = time.monotonic()
    found = [f.url for f in scan_page(text, "https://w.example/").found]
    assert time.monotonic() - started < 3.0   # a backtracking regex took 29 s on the first
    assert ("https://c.example/after.m3u8" in found) is still_found
    assert len(found) <= 2
