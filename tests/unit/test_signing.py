"""Signed proxy URLs: what is signed comes back, nothing else gets through."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import stat
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slipstream.errors import ConfigError, ProxyDenied
from slipstream.proxy.signing import Signer, load_or_create_secret, url_extension

SECRET = b"s" * 32
SID = "0123456789abcdef"
AKAMAI = (
    "https://live-edge.akamaized.example.net/hls/live/2001234/f1-main/1080p/"
    "segment_1700000123_00456.ts?hdnts=exp=1700003600~acl=/hls/live/2001234/f1-main/*~hmac="
    + "9f" * 32
)
S3 = (
    "https://bucket.s3.eu-west-1.amazonaws.example.com/streams/abc/seg_00042.m4s"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20231120%2F"
    "eu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20231120T101500Z&X-Amz-Expires=3600"
    "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "ab" * 32
)
PATH = re.compile(r"/proxy/([^/]+)/s/([A-Za-z0-9_-]+)\.([a-z0-9]+)")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def token_of(path: str) -> str:
    match = PATH.fullmatch(path)
    assert match, path
    return match.group(2)


def forge(signed: bytes, stream_id: str = SID, secret: bytes = SECRET) -> str:
    """A token with a valid MAC over `signed`, built from the documented format."""
    sid = stream_id.encode()
    mac = hmac.new(secret, struct.pack(">H", len(sid)) + sid + signed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16] + signed).rstrip(b"=").decode()


@pytest.mark.parametrize("url", [
    "https://cdn.example.com/live/seg_1.ts", AKAMAI, S3,
    "http://[2001:db8::1]:8080/a/b.aac?x=1#frag", "https://cdn.example.com/ünïcode/段.ts",
])
def test_signed_url_verifies_back_to_the_upstream(url: str) -> None:
    signer = Signer(SECRET)
    path = signer.sign(SID, url)
    assert PATH.fullmatch(path) and path.startswith(f"/proxy/{SID}/s/")
    assert signer.verify(SID, token_of(path)) == url
    assert signer.verify(SID, path.rsplit("/", 1)[1]) == url  # with its extension too


@pytest.mark.parametrize(("url", "default", "ext"), [
    ("https://c.example.com/a/seg_1.ts?token=x", "ts", "ts"),
    ("https://c.example.com/a/part.m4s", "ts", "m4s"),
    ("https://c.example.com/a/audio.AAC", "ts", "aac"),
    ("https://c.example.com/a/init.mp4", "mp4", "mp4"),
    ("https://c.example.com/a/sub_3.webvtt", "ts", "webvtt"),
    ("https://c.example.com/k/live.key?id=2", "key", "key"),
    ("https://c.example.com/k/live?id=2", "key", "key"),
    ("https://c.example.com/a/next.m3u8", "ts", "m3u8"),
    ("https://c.example.com/a/seg", "m4s", "m4s"),
    ("https://c.example.com/a/get.php?file=seg.ts", "ts", "ts"),
    ("https://c.example.com/a/disguised.png", "ts", "ts"),
    ("https://c.example.com/a.ts/seg", "ts", "ts"),
    ("https://c.example.com/a.mp4/seg", "m4s", "m4s"),
    ("https://c.example.com", "ts", "ts"),
    ("https://c.example.com/seg.ts#t=3", "m4s", "ts"),
])
def test_proxy_urls_end_in_a_media_extension(url: str, default: str, ext: str) -> None:
    assert url_extension(url, default) == ext
    assert Signer(SECRET).sign(SID, url, default).endswith(f".{ext}")


def test_a_token_for_one_stream_is_refused_for_another() -> None:
    signer = Signer(SECRET)
    token = token_of(signer.sign("stream-a", AKAMAI))
    with pytest.raises(ProxyDenied, match="bad signature"):
        signer.verify("stream-b", token)


def test_another_secret_does_not_verify() -> None:
    token = token_of(Signer(SECRET).sign(SID, AKAMAI))
    with pytest.raises(ProxyDenied, match="bad signature"):
        Signer(b"t" * 32).verify(SID, token)


def test_every_single_character_change_is_refused() -> None:
    signer = Signer(SECRET)
    token = token_of(signer.sign(SID, "https://cdn.example.com/live/seg_1.ts"))
    for i in range(len(token)):
        swapped = "A" if token[i] != "A" else "B"
        tampered = token[:i] + swapped + token[i + 1:]
        with pytest.raises(ProxyDenied, match="bad signature|malformed"):
            signer.verify(SID, tampered)


def test_expiry_is_enforced_and_rounded_up_to_the_granularity() -> None:
    clock = Clock(1_800_000_010.0)
    signer = Signer(SECRET, ttl=300, clock=clock, granularity=60)
    token = token_of(signer.sign(SID, AKAMAI))
    clock.now += 300
    assert signer.verify(SID, token) == AKAMAI  # 1_800_000_310 <= expiry 1_800_000_360
    clock.now = 1_800_000_360.0
    assert signer.verify(SID, token) == AKAMAI
    clock.now += 1
    with pytest.raises(ProxyDenied, match="expired"):
        signer.verify(SID, token)


def test_the_same_segment_keeps_its_url_within_a_granularity_step() -> None:
    clock = Clock(1_800_000_001.0)
    signer = Signer(SECRET, ttl=3600, clock=clock, granularity=60)
    first = signer.sign(SID, AKAMAI)
    clock.now += 30
    assert signer.sign(SID, AKAMAI) == first
    clock.now += 60
    later = signer.sign(SID, AKAMAI)
    assert later != first and signer.verify(SID, token_of(later)) == AKAMAI


@pytest.mark.parametrize("token", [
    "", ".", "!!!!", "abc", "A" * 20, "A" * 21, "a b c d", "Zm9v+/==", "A" * 20_000,
    "ñandú", "AAAA\x00AAAA",
])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(ProxyDenied, match="malformed|bad signature"):
        Signer(SECRET).verify(SID, token)


def test_a_valid_mac_over_a_bad_body_is_still_malformed() -> None:
    signer = Signer(SECRET, clock=Clock())
    far = 4_000_000_000
    unknown_format = struct.pack(">BI", 9, far) + b"https://x.example.com/a.ts"
    bad_deflate = struct.pack(">BI", 2, far) + b"\xff\xfe not deflate"
    not_utf8 = struct.pack(">BI", 1, far) + b"\xff\xfe"
    bomb = zlib.compressobj(9, zlib.DEFLATED, -11)
    bomb_body = bomb.compress(b"a" * 1_000_000) + bomb.flush()
    for signed in (unknown_format, bad_deflate, not_utf8, struct.pack(">BI", 2, far) + bomb_body):
        with pytest.raises(ProxyDenied, match="malformed"):
            signer.verify(SID, forge(signed))
    assert signer.verify(SID, forge(struct.pack(">BI", 1, far) + b"https://ok.example")) \
        == "https://ok.example"


def test_compression_keeps_long_tokenised_urls_short() -> None:
    signer = Signer(SECRET)
    for url in (AKAMAI, S3):
        path = signer.sign(SID, url)
        # Raw base64 would be 4/3 of the URL plus the header; deflate wins it back.
        assert len(path) < len(url), (len(path), len(url))


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        Signer(b"")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(max_size=600))
def test_anything_signed_verifies_and_nothing_else_does(stream_id: str, url: str) -> None:
    signer = Signer(SECRET, clock=Clock())
    path = signer.sign(stream_id, url)
    token = path.rsplit("/", 1)[1]
    assert signer.verify(stream_id, token) == url
    with pytest.raises(ProxyDenied):
        signer.verify(stream_id + "x", token)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_garbage_tokens_never_crash(token: str) -> None:
    with pytest.raises(ProxyDenied):
        Signer(SECRET).verify(SID, token)


def test_configured_secret_wins(tmp_path: Path) -> None:
    assert load_or_create_secret(tmp_path, "my configured secret") == b"my configured secret"
    assert not (tmp_path / "secret").exists()


def test_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "dir"
    first = load_or_create_secret(data_dir, "")
    path = data_dir / "secret"
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(data_dir, "") == first
    assert [p.name for p in data_dir.iterdir()] == ["secret"]  # no temp file left behind
    assert load_or_create_secret(tmp_path / "other", "") != first


def test_a_loosened_secret_file_is_tightened(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path, "")
    os.chmod(tmp_path / "secret", 0o644)
    assert load_or_create_secret(tmp_path, "") == first
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600


def test_an_unusable_data_dir_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="server.secret"):
        load_or_create_secret(blocker / "data", "")


def test_a_truncated_secret_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("short\n")
    with pytest.raises(ConfigError, match="too short"):
        load_or_create_secret(tmp_path, "")
