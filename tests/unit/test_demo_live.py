"""Pure parts of the demo origin: the live window (RFC 8216), masters, and the media byte helpers."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from slipstream.demo.live import LiveClock, master_playlist, media_playlist, target_duration
from slipstream.demo.media import Rendition
from slipstream.demo.packing import (
    adts_frames,
    aes128_encrypt,
    codec_string,
    packed_audio_segments,
)

TS = Rendition("ts360", "ts360", tuple(f"{i:03d}.ts" for i in range(4)), (2.0, 2.0, 2.0, 2.04),
               900_000, "avc1.42c01e,mp4a.40.2", "640x360")
FMP4 = Rendition("fmp4", "fmp4", ("000.m4s", "001.m4s"), (2.0, 2.0), 800_000, "avc1.42c01e,mp4a.40.2",
                 "640x360", init="init.mp4")
AES = Rendition("aes", "aes", ("000.ts",), (2.0,), 900_000, "avc1.42c01e", "640x360",
                key_file="key.key", iv="0x" + "00" * 15 + "01")
AUDIO = Rendition("audio", "audio", ("000.aac",), (2.0,), 70_000, "mp4a.40.2")
VIDEO = Rendition("video360", "video360", ("000.ts",), (2.0,), 850_000, "avc1.42c01e", "640x360")


@pytest.mark.parametrize(("elapsed", "seq"), [(-5.0, 0), (0.0, 0), (1.99, 0), (2.0, 1), (41.0, 20)])
def test_clock_sequence_is_floor_of_elapsed_segments(elapsed: float, seq: int) -> None:
    assert LiveClock(start=1000.0, segment_seconds=2.0).sequence(1000.0 + elapsed) == seq


def test_window_tags_the_wrap_and_counts_it_once_it_slides_out() -> None:
    lines = media_playlist(TS, 4, 2, 4).splitlines()
    assert "#EXT-X-MEDIA-SEQUENCE:2" in lines and "#EXT-X-DISCONTINUITY-SEQUENCE:0" in lines
    assert [ln for ln in lines if not ln.startswith("#EXTINF")][-5:] == [
        "2.ts", "3.ts", "#EXT-X-DISCONTINUITY", "4.ts", "5.ts"]
    starting_at_wrap = media_playlist(TS, 4, 4, 3)
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1" in starting_at_wrap
    assert "#EXT-X-DISCONTINUITY\n" not in starting_at_wrap  # counted, not tagged
    assert "#EXTINF:2.040," in media_playlist(TS, 4, 7, 1)  # segment 7 plays file 3


def test_target_duration_rounds_half_up() -> None:
    assert target_duration(TS) == 2
    assert target_duration(Rendition("x", "x", ("0.ts",), (2.5,), 1, "avc1.42c01e", "1x1")) == 3


def test_vod_has_type_and_endlist() -> None:
    text = media_playlist(TS, 4, 0, 4, endlist=True)
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.endswith("3.ts\n#EXT-X-ENDLIST\n")


def test_query_rides_on_every_uri_with_map_and_key() -> None:
    fmp4 = media_playlist(FMP4, 2, 0, 2, query="?exp=9&sig=a")
    assert '#EXT-X-MAP:URI="init.mp4?exp=9&sig=a"' in fmp4 and "1.m4s?exp=9&sig=a" in fmp4
    assert "#EXT-X-VERSION:6" in fmp4
    aes = media_playlist(AES, 1, 0, 1, query="?t=1")
    assert f'#EXT-X-KEY:METHOD=AES-128,URI="key.key?t=1",IV={AES.iv}' in aes


def test_master_orders_variants_and_adds_the_audio_group() -> None:
    plain = master_playlist([FMP4, TS]).splitlines()
    assert plain[-1] == "fmp4/index.m3u8" and plain[-3] == "ts360/index.m3u8"
    alt = master_playlist([VIDEO], AUDIO, query="?k=1")
    assert ('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Commentary",LANGUAGE="en",DEFAULT=YES,'
            'AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8?k=1"') in alt
    assert ('#EXT-X-STREAM-INF:BANDWIDTH=920000,CODECS="avc1.42c01e,mp4a.40.2",RESOLUTION=640x360,'
            'FRAME-RATE=25.000,AUDIO="aud"\nvideo360/index.m3u8?k=1') in alt


def _adts(payload: bytes) -> bytes:
    """One ADTS frame, AAC-LC 48 kHz stereo, around `payload`."""
    length = 7 + len(payload)
    header = bytes([0xFF, 0xF1, 0x4C, 0x80 | (length >> 11), (length >> 3) & 0xFF, ((length & 7) << 5) | 0x1F,
                    0xFC])
    return header + payload


def test_packed_audio_is_cut_by_time_and_stamped() -> None:
    stream = b"".join(_adts(bytes([i]) * 10) for i in range(200))
    assert len(adts_frames(stream + b"junk")) == 200
    pieces = packed_audio_segments(stream, [2.0, 2.0], base_pts=126_000)
    frames = [adts_frames(p[p.index(b"\xff\xf1"):]) for p in pieces]
    assert [len(f) for f in frames] == [94, 94]  # 2 s / (1024 / 48000 s) = 93.75, rounded at each cut
    owner = b"com.apple.streaming.transportStreamTimestamp\x00"
    pts = [struct.unpack(">Q", p[p.index(owner) + len(owner):][:8])[0] for p in pieces]
    assert pts == [126_000, 126_000 + round(94 * 1024 / 48000 * 90000)]
    assert all(p.startswith(b"ID3\x04") for p in pieces)


def test_aes128_round_trip() -> None:
    key, iv, data = b"k" * 16, b"i" * 16, b"\x47" * 1000
    encrypted = aes128_encrypt(data, key, iv)
    assert len(encrypted) == 1008 and encrypted[0] != 0x47
    assert Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(encrypted)[:1000] == data


def test_codec_strings_from_sample_entry_boxes() -> None:
    assert codec_string(b"\x00\x00\x00\x10avcC\x01\x64\x00\x1f\xff") == "avc1.64001f"
    hvcc = bytes([1, 0x02, 0x20, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 123])
    assert codec_string(b"....hvcC" + hvcc) == "hvc1.2.4.L123.B0"  # Apple's HEVC Main10 example
    with pytest.raises(ValueError):
        codec_string(b"no boxes here")
