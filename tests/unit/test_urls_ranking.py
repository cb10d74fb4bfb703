"""Canonical URLs, stable ids, dedupe and ranking."""

from __future__ import annotations

import pytest

from slipstream.models import Stream
from slipstream.ranking import dedupe, for_session, rank
from slipstream.urls import canonical_url, stream_id, strip_query


@pytest.mark.parametrize(("a", "b"), [
    ("HTTPS://CDN.Example.org:443/live/master.m3u8", "https://cdn.example.org/live/master.m3u8"),
    ("http://cdn.example.org:80/x.m3u8#frag", "http://cdn.example.org/x.m3u8"),
    ("https://c.example/x.m3u8?token=abc&exp=1", "https://c.example/x.m3u8?token=zzz&exp=2"),
    ("https://c.example/x.m3u8?hdnts=exp%3D1~hmac%3Dab", "https://c.example/x.m3u8"),
    ("https://c.example/x.m3u8?X-Amz-Date=1&X-Amz-Signature=f&ch=2", "https://c.example/x.m3u8?ch=2"),
])
def test_same_stream_same_canonical(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)
    assert stream_id("src", a) == stream_id("src", b)


@pytest.mark.parametrize(("a", "b"), [
    ("https://c.example/x.m3u8?channel=1", "https://c.example/x.m3u8?channel=2"),
    ("https://c.example:8443/x.m3u8", "https://c.example/x.m3u8"),
    ("https://c.example/a/x.m3u8", "https://c.example/b/x.m3u8"),
])
def test_different_streams_stay_apart(a: str, b: str) -> None:
    assert canonical_url(a) != canonical_url(b)


def test_id_depends_on_source_key() -> None:
    url = "https://c.example/x.m3u8"
    assert stream_id("a", url) != stream_id("b", url)
    assert len(stream_id("a", url)) == 16


def test_strip_query_hides_tokens() -> None:
    assert strip_query("https://c.example/x.m3u8?token=secret#f") == "https://c.example/x.m3u8"


def s(url: str, **kw: object) -> Stream:
    return Stream(url=url, site_key="k", site_name="K", **kw)  # type: ignore[arg-type]


def test_dedupe_keeps_first_of_each_canonical_url() -> None:
    streams = [
        s("https://c.example/m.m3u8?token=1", title="Stage 1"),
        s("https://c.example/m.m3u8?token=2", title="Stage 2"),
        s("https://c.example/embed/1", stream_type="embed", embed_url="https://c.example/embed/1"),
        s("https://c.example/other.m3u8", title="Other"),
        s("https://C.EXAMPLE/embed/1#x", stream_type="embed", embed_url="https://C.EXAMPLE/embed/1#x"),
    ]
    out = dedupe(streams)
    assert [x.title for x in out] == ["Stage 1", "", "Other"]


def test_rank_live_first_then_fastest() -> None:
    streams = [
        s("u1", title="dead fast", is_live=False, response_time_ms=1),
        s("u2", title="live slow", is_live=True, response_time_ms=900),
        s("u3", title="live unknown", is_live=True),
        s("u4", title="live fast", is_live=True, response_time_ms=20),
        s("u5", title="live fast, slow frame", is_live=True, response_time_ms=20, first_frame_ms=3000),
        s("u6", title="live fast, quick frame", is_live=True, response_time_ms=20, first_frame_ms=500),
    ]
    assert [x.title for x in rank(streams)] == [
        "live fast, quick frame", "live fast, slow frame", "live fast", "live slow", "live unknown",
        "dead fast",
    ]


def test_session_filter_keeps_untagged() -> None:
    streams = [s("a", session_type="race"), s("b", session_type="qualifying"), s("c")]
    assert [x.url for x in for_session(streams, "race")] == ["a", "c"]
    assert [x.url for x in for_session(streams, "Qualifying")] == ["b", "c"]


def test_session_groups_match_the_web_filters() -> None:
    tags = ["race", "qualifying", "sprint-qualifying", "sprint", "fp1", "fp3", "practice", None]
    streams = [s(str(tag), session_type=tag) for tag in tags]
    assert [x.url for x in for_session(streams, "qualifying")] == ["qualifying", "sprint-qualifying", "None"]
    assert [x.url for x in for_session(streams, "sprint")] == ["sprint-qualifying", "sprint", "None"]
    assert [x.url for x in for_session(streams, "practice")] == ["fp1", "fp3", "practice", "None"]
    assert [x.url for x in for_session(streams, "fp1")] == ["fp1", "None"]
