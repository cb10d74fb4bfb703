"""Hostile input, property-based: the parsers and the rewriter on playlist-shaped garbage.

The generators build what a hostile or broken upstream sends: real tags with bad or
missing attributes, URIs in every spelling (absolute, protocol-relative, variables,
other schemes, padded, half-quoted), junk lines, and every line end players know.
Each property names what a user relies on: nothing escapes but slipstream's own
errors, and a rewritten playlist never hands a player an upstream URL.

The checks are plain functions so `bench/fuzz.py` can run them 10,000 times each.
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slipstream.errors import PlaylistError
from slipstream.extractors.m3u_parse import parse_m3u
from slipstream.hls.playlist import MasterPlaylist, parse_playlist
from slipstream.hls.rewrite import rewrite_master, rewrite_media
from slipstream.proxy.signing import Signer
from slipstream.tokens.expiry import refresh_due, token_expiry

UPSTREAM = "cdn.upstream.test"
TOKEN = "SECRETTOKEN"
BASE = f"https://{UPSTREAM}/live/gp/index.m3u8?token={TOKEN}&exp=1700003600"
SID = "5f1e2d3c4b5a6978"
SIGNER = Signer(b"p" * 32, clock=lambda: 1_800_000_000.0)
MARK = re.compile(r"upstream\.test|" + TOKEN, re.IGNORECASE)
PROXY = re.compile(rf"/proxy/{SID}/s/([A-Za-z0-9_-]+)\.[a-z0-9]+")
# How players split lines (ffmpeg: CR too; hls.js: CR, U+2028, U+2029) and read attribute lists.
PLAYER_LINES = re.compile("\r\n|[\n\r\u2028\u2029]")
PLAYER_ATTR = re.compile(r'\s*(.+?)\s*=((?:".*?")|.*?)(?:,|$)')
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

# --- HLS playlists -------------------------------------------------------------------------

_uri = st.one_of(
    st.from_regex(r"[a-z0-9_]{1,8}(/[a-z0-9_.]{1,8}){0,2}\.(ts|m4s|aac|mp4|m3u8|key)(\?[a-z]=[a-z0-9]{0,6})?",
                  fullmatch=True),
    st.sampled_from([
        "../up/a.ts", "./b.m4s", "/abs/c.ts", f"//{UPSTREAM}/pr.ts", f"https://{UPSTREAM}/x/y.ts?sig=abc",
        "http://edge.upstream.test:8080/v.m3u8", "HTTPS://CDN.UPSTREAM.TEST/UP.TS",
        f" https://{UPSTREAM}/pad.ts ", f"\thttps://{UPSTREAM}/tab.ts", f"https://{UPSTREAM}/a,b.ts", f"https://u:p@{UPSTREAM}/cred.ts",
        "{$host}/var.ts", "{$token}.ts", "{$nope}x.ts", "seg.ts?t={$token}", "data:text/plain,hello",
        "skd://key-42", "http://[::1", "https://", "http:///x.ts", 'q"uote.ts', "ünï.ts", "%zz.ts",
        "a.ts#frag", "?only=query", "\ufeffbom.ts", "javascript:alert(1)", f"HtTp://{UPSTREAM}/mixed.ts", "",
    ]),
    st.text(max_size=12),
)
_attr_extra = st.sampled_from([
    "METHOD=AES-128", "METHOD=NONE", "METHOD=SAMPLE-AES", "BANDWIDTH=800000", "BANDWIDTH=x", "BANDWIDTH=-5",
    "RESOLUTION=640x360", 'CODECS="avc1.64001f,mp4a.40.2"', "TYPE=AUDIO", "TYPE=MAP", 'GROUP-ID="aud"',
    'NAME="en"', "IV=0x00000000000000000000000000000001", "IV=0xZZ", 'BYTERANGE="100@0"', "BYTERANGE=abc",
    "DURATION=1.0", 'NAME="host"', f'VALUE="https://{UPSTREAM}"', 'QUERYPARAM="token"', 'DATA-ID="x"',
    f'VALUE="a,URI=https://{UPSTREAM}/in-quotes"', ",,", '"', "=", "",
])
_TAGS = ["EXT-X-KEY", "EXT-X-SESSION-KEY", "EXT-X-MAP", "EXT-X-PART", "EXT-X-PRELOAD-HINT",
         "EXT-X-RENDITION-REPORT", "EXT-X-MEDIA", "EXT-X-I-FRAME-STREAM-INF", "EXT-X-SESSION-DATA",
         "EXT-X-STREAM-INF", "EXT-X-CONTENT-STEERING", "EXT-X-DEFINE", "EXT-X-DATERANGE", "EXT-X-VENDOR"]
_SIMPLE = st.sampled_from([
    "#EXTINF:2.0,", "#EXTINF:-1,title", "#EXTINF:abc,", "#EXTINF:nan,", "#EXTINF:1e400,",
    "#EXT-X-TARGETDURATION:2", "#EXT-X-TARGETDURATION:6.5", "#EXT-X-TARGETDURATION:x",
    "#EXT-X-TARGETDURATION:nan", "#EXT-X-MEDIA-SEQUENCE:10", "#EXT-X-MEDIA-SEQUENCE:-1",
    "#EXT-X-MEDIA-SEQUENCE:99999999999999999999", "#EXT-X-BYTERANGE:100@20", "#EXT-X-BYTERANGE:100",
    "#EXT-X-BYTERANGE:0@0", "#EXT-X-BYTERANGE:-4@2", "#EXT-X-BYTERANGE:x@y", "#EXT-X-ENDLIST",
    "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-DISCONTINUITY", "#EXT-X-VERSION:7", "#EXT-X-GAP",
    f"# comment https://{UPSTREAM}/c", f"#EXTINF:2,see https://{UPSTREAM}/t,URI=https://{UPSTREAM}/u",
    "#EXT-X-PROGRAM-DATE-TIME:garbage", "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=x",
    "#EXT-X-PART-INF:PART-TARGET=x", "#EXT-X-SKIP:SKIPPED-SEGMENTS=x", "#EXT-X-CUE-OUT:30", "#EXTM3U",
    "", "  ",
    f'#EXT-X-DEFINE:NAME="host",VALUE="https://{UPSTREAM}"', '#EXT-X-DEFINE:QUERYPARAM="token"',
])


@st.composite
def _tag_line(draw: st.DrawFn) -> str:
    parts = draw(st.lists(_attr_extra, max_size=3))
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
        uri = draw(_uri)
        spelling = draw(st.sampled_from(['URI="{}"', "URI={}", 'uri="{}"', 'URI = "{}"', 'URI="{}']))
        parts.insert(draw(st.integers(0, len(parts))), spelling.format(uri))
    lead = draw(st.sampled_from(["", "", "", " ", "\t", "\ufeff"]))
    return f"{lead}#{draw(st.sampled_from(_TAGS))}:" + ",".join(parts)


_line = st.one_of(_SIMPLE, _tag_line(), _uri, _uri.map(lambda u: "  " + u), st.text(max_size=20))


@st.composite
def hls_playlists(draw: st.DrawFn) -> str:
    """Playlist-shaped text: a header, tags with real and broken attributes, URIs, junk, any line ends."""
    text = draw(st.sampled_from(["#EXTM3U", "\ufeff#EXTM3U", " #EXTM3U", "#EXTM3U junk", "\n#EXTM3U"]))
    for line in draw(st.lists(_line, max_size=25)):
        text += draw(st.sampled_from(["\n", "\n", "\r\n", "\r", "\u2028", "\n\n"])) + line
    return text + draw(st.sampled_from(["", "\n", "\r\n"]))


def check_parse(text: str) -> None:
    """parse_playlist raises only PlaylistError, and what it returns is safe to act on."""
    try:
        playlist = parse_playlist(text.encode(), BASE)
    except PlaylistError:
        return
    if isinstance(playlist, MasterPlaylist):
        assert all(isinstance(v.uri, str) and isinstance(v.bandwidth, int) for v in playlist.variants)
        return
    assert math.isfinite(playlist.target_duration) and playlist.media_sequence >= 0
    for number, seg in enumerate(playlist.segments):
        assert math.isfinite(seg.duration) and seg.sequence == playlist.media_sequence + number
        for brange in (seg.byterange, seg.init.byterange if seg.init else None):
            assert brange is None or (brange.length > 0 and brange.offset >= 0), brange
        assert seg.key is None or seg.key.iv is None or len(seg.key.iv) == 16


def _uri_values(line: str) -> list[str]:
    """The URIs a player reads from one line: the line itself, or a tag's URI attributes."""
    body = line.strip().lstrip("\ufeff")
    if not body.startswith("#"):
        return [body] if body else []
    if not body.startswith("#EXT") or body.startswith("#EXTINF"):  # comments and titles are text
        return []
    rest = body.partition(":")[2]
    return [m.group(2) for m in PLAYER_ATTR.finditer(rest) if m.group(1).upper() == "URI"]


def check_rewrite(text: str) -> None:
    """Both rewriters raise only PlaylistError; no upstream URL leaves unsigned; the rest is verbatim."""
    for rewrite in (rewrite_master, rewrite_media):
        try:
            out = rewrite(text, BASE, SID, SIGNER)
        except PlaylistError:
            continue
        check_rewritten(text, out)


def check_rewritten(text: str, out: str) -> None:
    """`out`, the rewrite of `text`, names no upstream URI and changed only lines it proxied."""
    before = set(PLAYER_LINES.split(text))
    for line in filter(None, PLAYER_LINES.split(out)):
        leaked = [u for u in _uri_values(line) if MARK.search(u)]
        assert not leaked, f"an upstream URI left unsigned: {line[:120]!r}"
        changed = line not in before and not line.startswith("#EXT-X-DEFINE:")
        assert not changed or f"/proxy/{SID}/" in line, f"a line altered: {line[:120]!r}"
    for token in PROXY.findall(out):
        assert SIGNER.verify(SID, token).lower().startswith(("http://", "https://"))


# --- M3U channel lists ---------------------------------------------------------------------

_m3u_url = st.one_of(
    st.from_regex(r"https?://[a-z]{1,6}\.example\.(com|org)(:\d{2,4})?/[a-z0-9/_.-]{0,20}(\?[a-z]=[a-z0-9%]{0,8})?",
                  fullmatch=True),
    st.sampled_from([
        "live/42", "/abs/x.m3u8", "rtmp://x/y", "udp://@239.0.0.1:1234", "http://", "https:///nohost",
        "http://[::1]/x", "http://[::1/x", "http://a b/", "http://e.com/page.html", "HTTP://E.COM/X.M3U8",
        "file:///etc/passwd", "javascript:alert(1)", "http://e.com:99999/x", "http://e.com:abc/",
        "http://e.com/x|User-Agent=VLC&Referer=http%3A%2F%2Fr.com%2F", "http://e.com/x|Referer", "http://e.com/x|=v",
        "http://e.com/x|User-Agent=a%0D%0AX-Evil:%201", "http://e.com/x|X%20Bad%3AName=v", "http://e.com/x|%00=1",
    ]),
    st.text(max_size=15),
)
_m3u_attr = st.one_of(
    st.builds("{}={}{}{}".format,
              st.sampled_from(["tvg-id", "tvg-name", "group-title", "tvg-logo", "user-agent", "referrer",
                               "http-referrer", "origin", "catchup"]),
              st.sampled_from(['"', "'", ""]),
              st.one_of(st.sampled_from(["Sports", "F1;Motorsport", "http://r.example.com/", "Mozilla/5.0"]),
                        st.text(max_size=10)),
              st.sampled_from(['"', "'", ""])),
    st.sampled_from(['tvg-id="unterminated', "=", '""', "noval"]),
)
_m3u_title = st.one_of(st.sampled_from([
    "F1 Race - Main feed (1080p) [Not 24/7]", "MotoGP Q2 720p", "WRC Stage 1 (HD)", "", "(1080p)", "a,b,c",
    'quoted "title"', "🏎️ Ünïcode"]), st.text(max_size=20))
_m3u_line = st.one_of(
    st.builds("#EXTINF:{} {}{}{}".format, st.sampled_from(["-1", "0", "10.5", "", "abc"]),
              st.lists(_m3u_attr, max_size=4).map(" ".join), st.sampled_from([",", "", ",,"]), _m3u_title),
    st.builds("#EXTVLCOPT:{}={}".format,
              st.sampled_from(["http-referrer", "http-user-agent", "http-origin", "network-caching"]),
              st.text(max_size=12)),
    st.builds("#EXTGRP:{}".format, st.text(max_size=10)),
    st.sampled_from([
        '#EXTHTTP:{"cookie":"a=b","User-Agent":"x"}', '#EXTHTTP:{"a":1}', "#EXTHTTP:{bad",
        '#EXTHTTP:{"X\\r\\nEvil":"v"}', '#EXTHTTP:{"Referer":"a\\r\\nb"}', '#EXTHTTP:{"":"x"}',
        "#EXTHTTP:" + '{"a":' * 3000, '#EXTM3U url-tvg="http://epg" user-agent="UA"', "# comment",
        "#EXTINF", "#EXTINF:", "", "   ", "#EXT-X-TARGETDURATION:2",
    ]),
    _m3u_url,
    st.text(max_size=20),
)


@st.composite
def m3u_playlists(draw: st.DrawFn) -> str:
    """IPTV-shaped text: #EXTINF attributes, per-entry headers in every form, URLs good and bad, junk."""
    head = draw(st.sampled_from(["#EXTM3U", "\ufeff#EXTM3U", "", '#EXTM3U x-tvg-url="http://e/g.xml"',
                                 "http://first.example.com/a.m3u8"]))
    return draw(st.sampled_from(["\n", "\r\n", "\r"])).join([head, *draw(st.lists(_m3u_line, max_size=30))])


def check_m3u(text: str, base: str | None) -> None:
    """parse_m3u raises only PlaylistError; every URL line is an entry or a skip; entries are usable."""
    try:
        result = parse_m3u(text, base)
    except PlaylistError:
        return
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    url_lines = [line for line in lines if line and not line.startswith("#")]
    skipped = [s for s in result.skipped if not s.reason.startswith("#EXTINF with no URL")]
    assert len(result.entries) + len(skipped) == len(url_lines)  # one bad entry never costs the list
    for entry in result.entries:
        assert re.match(r"https?://[^/?#\s]", entry.url, re.IGNORECASE) and not re.search(r"\s", entry.url)
        assert entry.title.strip(), entry
        for name, value in entry.headers.items():
            assert HEADER_NAME.fullmatch(name) and not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", value)


# --- token expiry ----------------------------------------------------------------------------

_stamp = st.one_of(
    st.integers(-10**12, 10**20).map(str), st.floats(allow_nan=True).map(str),
    st.sampled_from(["", "nan", "inf", "-1", "1e309", "0x10", "1_700_000_000"]), st.text(max_size=12))
_jwt_shaped = st.from_regex(r"[A-Za-z0-9_-]{4,20}\.[A-Za-z0-9_-]{4,30}\.[a-z]{0,5}", fullmatch=True)
_expiry_param = st.one_of(
    st.builds("{}={}".format, st.sampled_from(["exp", "expires", "e", "Expires", "validto"]), _stamp),
    st.builds("hdnts=st=1~exp={}~acl=/*~hmac=ab".format, _stamp),
    st.builds("X-Amz-Date={}&X-Amz-Expires={}".format,
              st.sampled_from(["20231114T221320Z", "2023", "", "99991231T235959Z"]), _stamp),
    st.builds("se={}&sig=x".format, st.sampled_from(["2023-11-14T23:13:20Z", "garbage", "9999-12-31"])),
    st.builds("token={}".format, st.one_of(_jwt_shaped, _stamp.map(lambda s: s + "_0123abcd0123abcd"))),
    st.builds("Policy={}".format, st.from_regex(r"[A-Za-z0-9_~-]{0,40}", fullmatch=True)),
)
_noise = st.builds("{}={}".format, st.sampled_from(["id", "quality", "session", "v", "cdn"]),
                   st.text(max_size=10))


def _encoded(param: str) -> str:
    key, _, value = param.partition("=")
    return f"{key}={quote(value, safe='')}"


@st.composite
def token_urls(draw: st.DrawFn) -> str:
    """CDN-shaped URLs: expiry parameters in every supported form with good and bad values, plus noise."""
    params = draw(st.lists(st.one_of(_expiry_param, _noise), max_size=5))
    path = draw(st.lists(st.one_of(st.from_regex(r"[a-z0-9_.-]{1,10}", fullmatch=True),
                                   _stamp.map("exp={}".format)), max_size=4))
    return f"https://{UPSTREAM}/{'/'.join(path)}?{'&'.join(params)}"


def check_expiry(url: str) -> None:
    """token_expiry gives None or a plausible Unix time; refresh_due falls between now and the expiry."""
    expiry = token_expiry(url)
    assert expiry is None or 1e9 <= expiry < 1e10, expiry
    now = 1_700_000_000.0
    due = refresh_due(url, now, refresh_every=240.0)
    assert now <= due <= now + max(240.0, (expiry or now) - now)


# --- the tests: ~100 examples each here; bench/fuzz.py runs 10,000 ---------------------------

@settings(max_examples=100, deadline=None)
@given(hls_playlists())
@example("#EXTM3U\n#EXT-X-TARGETDURATION:nan\n#EXTINF:2,\na.ts\n")
@example("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-BYTERANGE:-4@2\n#EXTINF:2,\na.ts\n")
def test_playlist_parser_raises_only_playlist_error(text: str) -> None:
    check_parse(text)


@settings(max_examples=100, deadline=None)
@given(hls_playlists())
@example(f"#EXTM3U\n#EXTINF:2,\rhttps://{UPSTREAM}/behind-a-lone-cr.ts\n")
@example(f"#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,URI=\"https://{UPSTREAM}/misplaced.m3u8\"\n#EXTINF:2,\na.ts\n")
@example(f'#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="https://{UPSTREAM}/k1",URI="https://{UPSTREAM}/k2"\n')
@example(f'#EXTM3U\n  #EXT-X-MAP:URI="https://{UPSTREAM}/init.mp4"\n')
def test_rewriter_never_leaks_an_upstream_uri(text: str) -> None:
    check_rewrite(text)


@settings(max_examples=100, deadline=None)
@given(m3u_playlists(), st.sampled_from([None, "http://lists.example.com/dir/list.m3u"]))
@example("#EXTM3U\n#EXTINF:-1,x\n#EXTHTTP:" + '{"a":' * 3000 + "\nhttp://e.com/x\n", None)
@example("#EXTM3U\n#EXTINF:-1,x\nhttp://e.com/x|User-Agent=a%0D%0AX-Evil:%201\n", None)
@example("http://[::1/x\n", None)
def test_m3u_parser_skips_bad_entries_and_never_raises(text: str, base: str | None) -> None:
    check_m3u(text, base)


@settings(max_examples=100, deadline=None)
@given(token_urls())
def test_token_expiry_never_raises_and_stays_plausible(url: str) -> None:
    check_expiry(url)


@settings(max_examples=100, deadline=None)
@given(st.integers(1_000_000_000, 9_999_999_999),
       st.sampled_from(["exp={}", "hdnts=st=1~exp={}~acl=/*~hmac=ab", "token={}_0123456789abcdef"]),
       st.lists(_noise, max_size=3))
def test_a_readable_expiry_is_read_exactly(stamp: int, form: str, noise: list[str]) -> None:
    url = f"https://{UPSTREAM}/live/x.m3u8?" + "&".join([*map(_encoded, noise), form.format(stamp)])
    assert token_expiry(url) == stamp


@pytest.mark.parametrize("out", [
    f"#EXTM3U\n#EXTINF:2,\rhttps://{UPSTREAM}/a.ts\n",
    f'#EXTM3U\n #EXT-X-MAP:uri="//{UPSTREAM}/init.mp4"\n',
    "#EXTM3U\n#EXT-X-TARGETDURATION:3\n",
    "#EXTM3U\nother.ts\n",
])
def test_the_rewrite_oracle_catches_leaks_and_edits(out: str) -> None:
    with pytest.raises(AssertionError):
        check_rewritten("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,see https://cdn/x\na.ts\n", out)



def test_the_rewrite_oracle_passes_a_proper_rewrite() -> None:
    signed = SIGNER.sign(SID, f"https://{UPSTREAM}/a.ts")
    check_rewritten(f"#EXTM3U\n#EXTINF:2,\nhttps://{UPSTREAM}/a.ts\n", f"#EXTM3U\n#EXTINF:2,\n{signed}\n")
