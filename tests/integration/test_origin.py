"""The local HLS origin (tests/origin.py) serves real, playable live HLS and every fault it documents."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from origin import TestOrigin
from slipstream.demo.media import MediaSet, ensure_media
from slipstream.errors import SlipstreamError


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str, bytes]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


def decoded_frames(url: str, seconds: int = 6) -> int:
    """Frames ffmpeg decodes from `url` in `seconds` of media (fails the test if ffmpeg fails)."""
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-i", url, "-t", str(seconds), "-f", "null", "-"]
    run = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    return int(re.findall(r"frame=\s*(\d+)", run.stderr)[-1])


def tag(text: str, name: str) -> str:
    return re.search(rf"^#{name}:(.*)$", text, re.M).group(1)  # type: ignore[union-attr]


def uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize("path", ["/live/ts360/index.m3u8", "/live/fmp4/index.m3u8", "/live/master.m3u8",
                                  "/live/master-audio.m3u8", "/live/master-aes.m3u8"])
def test_ffmpeg_decodes_six_seconds_of_each_live_shape(origin: TestOrigin, path: str) -> None:
    # Start at the top of the loop: ffmpeg never finishes `-t 6` on a live stream with a separate
    # packed-audio rendition when its timestamps reset at the wrap (the muxed wrap is tested below).
    with urllib.request.urlopen(origin.url("/live/ts360/index.m3u8"), timeout=10) as resp:
        now = int(tag(resp.read().decode(), "EXT-X-MEDIA-SEQUENCE"))
    shift = (origin.loop - now % origin.loop) % origin.loop
    assert decoded_frames(origin.url(f"/~shift={shift}{path}")) >= 140  # 25 fps x 6 s, give or take


def test_ffmpeg_plays_across_the_loop_wrap(origin: TestOrigin) -> None:
    with urllib.request.urlopen(origin.url("/live/ts360/index.m3u8"), timeout=10) as resp:
        now = int(tag(resp.read().decode(), "EXT-X-MEDIA-SEQUENCE"))
    shift = (origin.loop - 5 - now) % origin.loop  # window ends one past the wrap; ffmpeg starts 3 back
    assert decoded_frames(origin.url(f"/~shift={shift}/live/ts360/index.m3u8")) >= 140


async def test_live_window_slides_and_keeps_its_shape(
    http: aiohttp.ClientSession, origin: TestOrigin
) -> None:
    url = origin.url("/live/ts360/index.m3u8")
    status, ctype, body = await get(http, url)
    first = int(tag(body.decode(), "EXT-X-MEDIA-SEQUENCE"))
    assert (status, ctype.split(";")[0]) == (200, "application/vnd.apple.mpegurl")
    assert tag(body.decode(), "EXT-X-TARGETDURATION") == "2"
    assert len(uris(body.decode())) == 6 and "#EXT-X-ENDLIST" not in body.decode()
    deadline = time.monotonic() + 5
    while int(tag((await get(http, url))[2].decode(), "EXT-X-MEDIA-SEQUENCE")) == first:
        assert time.monotonic() < deadline, "media sequence never advanced"
        await asyncio.sleep(0.1)  # polling interval, not synchronisation
    text = (await get(http, url))[2].decode()
    assert uris(text)[0] == f"{int(tag(text, 'EXT-X-MEDIA-SEQUENCE'))}.ts"


async def test_wrap_is_a_discontinuity_then_counted_in_the_sequence(
    http: aiohttp.ClientSession, origin: TestOrigin
) -> None:
    loop = origin.loop
    text = (await get(http, origin.url(f"/~stale/~shift={loop - 3}/live/ts360/index.m3u8")))[2].decode()
    lines = text.splitlines()
    assert lines[lines.index("#EXT-X-DISCONTINUITY") + 2] == f"{loop}.ts"
    assert tag(text, "EXT-X-DISCONTINUITY-SEQUENCE") == "0"
    later = (await get(http, origin.url(f"/~stale/~shift={loop + 1}/live/ts360/index.m3u8")))[2].decode()
    assert tag(later, "EXT-X-DISCONTINUITY-SEQUENCE") == "1" and "#EXT-X-DISCONTINUITY\n" not in later


async def test_vod_lists_the_whole_loop_and_ends(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    text = (await get(http, origin.url("/vod/fmp4/index.m3u8")))[2].decode()
    assert text.rstrip().endswith("#EXT-X-ENDLIST") and "#EXT-X-PLAYLIST-TYPE:VOD" in text
    assert uris(text) == [f"{k}.m4s" for k in range(origin.loop)]
    assert (await get(http, origin.url(f"/vod/fmp4/{origin.loop}.m4s")))[0] == 404


@pytest.mark.parametrize(("path", "ctype", "magic"), [
    ("/live/ts360/3.ts", "video/mp2t", b"\x47"),
    ("/live/fmp4/init.mp4", "video/mp4", b"ftyp"),
    ("/live/fmp4/3.m4s", "video/mp4", b"moof"),  # after styp or directly
    ("/live/audio/3.aac", "audio/aac", b"ID3"),
])
async def test_segments_have_their_content_type_and_media_bytes(
    http: aiohttp.ClientSession, origin: TestOrigin, path: str, ctype: str, magic: bytes
) -> None:
    status, got, body = await get(http, origin.url(path))
    assert (status, got) == (200, ctype)
    assert magic in body[:512]


async def test_range_requests_on_segments(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    async with http.get(origin.url("/live/ts234/7.ts"), headers={"Range": "bytes=188-375"}) as resp:
        assert resp.status == 206 and resp.headers["Content-Range"].startswith("bytes 188-375/")
        body = await resp.read()
    assert len(body) == 188 and body[0] == 0x47


async def test_aes_segments_decrypt_with_the_key_and_iv_of_the_playlist(
    http: aiohttp.ClientSession, origin: TestOrigin
) -> None:
    text = (await get(http, origin.url("/live/aes/index.m3u8")))[2].decode()
    key_tag = tag(text, "EXT-X-KEY")
    assert key_tag.startswith('METHOD=AES-128,URI="key.key",IV=0x')
    key = (await get(http, origin.url("/live/aes/key.key")))[2]
    iv = bytes.fromhex(key_tag.split("IV=0x")[1])
    cipher_text = (await get(http, origin.url(f"/live/aes/{uris(text)[0]}")))[2]
    assert cipher_text[0] != 0x47 or cipher_text[188] != 0x47
    plain = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(cipher_text[:376])
    assert plain[0] == 0x47 and plain[188] == 0x47


async def test_master_with_alternate_audio(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    text = (await get(http, origin.url("/live/master-audio.m3u8")))[2].decode()
    media = tag(text, "EXT-X-MEDIA")
    assert 'TYPE=AUDIO' in media and 'URI="audio/index.m3u8"' in media
    assert 'AUDIO="aud"' in tag(text, "EXT-X-STREAM-INF") and uris(text) == ["video360/index.m3u8"]
    audio = (await get(http, origin.url("/live/audio/index.m3u8")))[2].decode()
    assert all(u.endswith(".aac") for u in uris(audio))


def test_renditions_are_what_their_attributes_say(media: MediaSet) -> None:
    expected = {"ts360": ("h264", "640x360"), "ts234": ("h264", "416x234"), "fmp4": ("h264", "640x360"),
                "hevc": ("hevc", "640x360")}
    if not media.hevc_available:
        expected.pop("hevc")
    for name, (codec, size) in expected.items():
        rendition = media.renditions[name]
        sample = media.file(rendition, rendition.init) if rendition.init else media.segment_path(rendition, 1)
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
             "stream=codec_name,width,height", "-of", "csv=p=0", str(sample)],
            capture_output=True, text=True, check=True)
        assert probe.stdout.split()[0] == f"{codec},{size.replace('x', ',')}", name
        assert rendition.codecs.startswith({"h264": "avc1.", "hevc": "hvc1."}[codec])
        assert len(rendition.durations) == media.segment_count
        assert all(abs(d - 2.0) < 0.1 for d in rendition.durations), rendition.durations
    assert media.renditions["ts360"].bandwidth > media.renditions["ts234"].bandwidth > 100_000


async def test_hevc_master_advertises_hvc1(http: aiohttp.ClientSession, origin: TestOrigin) -> None:
    if not origin.media.hevc_available:
        pytest.skip("this ffmpeg has no libx265")
    text = (await get(http, origin.url("/live/master-hevc.m3u8")))[2].decode()
    assert 'CODECS="hvc1.' in text and "hevc/index.m3u8" in uris(text)


def test_media_is_generated_once_then_reused(media: MediaSet) -> None:
    started = time.monotonic()
    again = ensure_media(media.root.parent)
    assert again.root == media.root and time.monotonic() - started < 1.0
    assert not list(media.root.parent.glob(".tmp-*"))  # no half-written sets left behind


def test_missing_ffmpeg_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without ffmpeg on it
    with pytest.raises(SlipstreamError, match="ffmpeg not found"):
        ensure_media(tmp_path / "media")
