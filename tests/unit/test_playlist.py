"""The pure HLS core: parsing fixture playlists, sniffing real segment bytes, AES-128 prefixes."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from slipstream.errors import PlaylistError
from slipstream.hls.playlist import (
    ByteRange,
    MasterPlaylist,
    MediaPlaylist,
    decrypt_prefix,
    is_text,
    parse_playlist,
    pick_variant,
    segment_iv,
    sniff_media,
)

RES = Path(__file__).parent.parent / "resources" / "hls" / "health"
BASE = "https://cdn.example.org/live/ch1/index.m3u8"
KEY = bytes(range(16))


def load(name: str, url: str = BASE) -> MasterPlaylist | MediaPlaylist:
    return parse_playlist((RES / name).read_bytes(), url)


def media(name: str) -> MediaPlaylist:
    playlist = load(name)
    assert isinstance(playlist, MediaPlaylist)
    return playlist


def _ffmpeg(out: Path, *args: str) -> None:
    lavfi = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-f", "lavfi", "-i", "sine=f=440"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *lavfi, "-t", "2", "-c:v", "libx264",
                    "-preset", "ultrafast", "-g", "25", "-c:a", "aac", *args], cwd=out, check=True)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real segments made by ffmpeg: TS, fMP4 (init + fragment), ADTS with ID3, AES-128 TS."""
    out = tmp_path_factory.mktemp("media")
    (out / "k.key").write_bytes(KEY)
    (out / "keyinfo").write_text(f"k.key\n{out / 'k.key'}\n")
    _ffmpeg(out, "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "ts.m3u8")
    _ffmpeg(out, "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_segment_type", "fmp4",
            "-hls_fmp4_init_filename", "init.mp4", "f.m3u8")
    _ffmpeg(out, "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
            "-hls_key_info_file", "keyinfo", "enc.m3u8")
    _ffmpeg(out, "-vn", "-f", "adts", "-write_id3v2", "0", "plain.aac")
    _ffmpeg(out, "-vn", "-f", "adts", "-write_id3v2", "1", "tagged.aac")
    return out


# --- parsing -------------------------------------------------------------------------------


def test_master_lists_variants_with_absolute_uris_and_attributes() -> None:
    master = load("master.m3u8")
    assert isinstance(master, MasterPlaylist)
    assert [v.uri for v in master.variants] == [  # the I-frame playlist is not a variant
        "https://cdn.example.org/live/ch1/480p/index.m3u8?token=abc",
        "https://cdn2.example.org/live/1080p/index.m3u8",
        "https://cdn.example.org/live/720p/index.m3u8",
    ]
    first = master.variants[0]
    assert (first.bandwidth, first.resolution, first.audio) == (1280000, (854, 480), "aac")
    assert first.codecs == "avc1.4d401f,mp4a.40.2"


def test_pick_variant_by_bandwidth() -> None:
    master = load("master.m3u8")
    assert isinstance(master, MasterPlaylist)
    assert pick_variant(master).resolution == (1920, 1080)
    assert pick_variant(master, prefer="lowest").bandwidth == 1280000
    with pytest.raises(PlaylistError):
        pick_variant(MasterPlaylist(BASE, []))


def test_live_ts_media_playlist() -> None:
    pl = media("live_ts.m3u8")
    assert (pl.target_duration, pl.media_sequence, pl.endlist, pl.playlist_type) == (6, 184467, False, None)
    assert [s.sequence for s in pl.segments] == [184467, 184468, 184469, 184470]
    assert pl.last_sequence == 184470
    assert pl.segments[2].uri == "https://cdn.example.org/live/ch1/seg_184469.ts?hdnts=exp=1716730000~hmac=0f3a"
    assert pl.segments[3].uri == "https://edge7.example.net/live/seg_184470.ts"
    assert pl.segments[2].duration == pytest.approx(5.972)
    assert pl.keys == [] and pl.maps == [] and all(s.key is None for s in pl.segments)


def test_fmp4_playlist_carries_its_init_section() -> None:
    pl = media("live_fmp4.m3u8")
    init = "https://cdn.example.org/live/ch1/init-v1.mp4"
    assert [m.uri for m in pl.maps] == [init]
    assert all(s.init is not None and s.init.uri == init for s in pl.segments)


def test_byteranges_without_offset_follow_the_previous_range() -> None:
    pl = media("byterange.m3u8")
    assert [s.byterange for s in pl.segments] == [
        ByteRange(150000, 720), ByteRange(148000, 150720), ByteRange(151000, 298720)]
    assert pl.maps[0].byterange == ByteRange(720, 0)
    assert pl.segments[1].byterange is not None
    assert pl.segments[1].byterange.header == "bytes=150720-298719"
    assert pl.playlist_type == "EVENT"


def test_aes128_keys_and_ivs() -> None:
    pl = media("aes128.m3u8")
    seg = {s.sequence: s for s in pl.segments}
    assert seg[7].key is None and seg[10].key is None  # before the first key, after METHOD=NONE
    k8 = seg[8].key
    assert k8 is not None and k8.method == "AES-128"
    assert k8.uri == "https://keys.example.org/k/1?sig=9"
    assert segment_iv(k8, 8) == bytes(range(16))
    k9 = seg[9].key
    assert k9 is not None and k9.uri == "https://cdn.example.org/live/ch1/key2.bin" and k9.iv is None
    assert segment_iv(k9, 9) == (9).to_bytes(16, "big")  # RFC 8216 §5.2
    k11 = seg[11].key
    assert k11 is not None and k11.iv == b"\x00" * 15 + b"\x1f"
    assert [k.uri for k in pl.keys] == [k8.uri, k9.uri, k11.uri]


def test_sample_aes_key_is_kept_with_its_method() -> None:
    pl = media("sample_aes.m3u8")
    assert {s.key.method for s in pl.segments if s.key} == {"SAMPLE-AES"}


def test_vod_playlist() -> None:
    pl = media("vod.m3u8")
    assert pl.endlist and pl.playlist_type == "VOD" and len(pl.segments) == 3


def test_bom_crlf_float_target_duration_and_dangling_extinf() -> None:
    pl = media("bom_crlf_float.m3u8")
    assert pl.target_duration == 6.0
    assert [s.uri.rsplit("/", 1)[1] for s in pl.segments] == ["live12.ts", "live13.ts"]
    assert pl.segments[0].duration == 5.5


def test_live_playlist_without_segments_parses_empty() -> None:
    pl = media("empty_live.m3u8")
    assert pl.segments == [] and pl.media_sequence == 55


@pytest.mark.parametrize("data", [
    (RES / "error_page.html").read_bytes(), b"", b"   \n", b'{"error": "expired"}',
    b"\x47\x40\x11\x10" * 100, b"#EXTINF:6,\nseg.ts\n#EXTM3U\n",
])
def test_not_a_playlist(data: bytes) -> None:
    with pytest.raises(PlaylistError, match="not a playlist"):
        parse_playlist(data, BASE)


@pytest.mark.parametrize("data", [
    (RES / "bad_key_attr.m3u8").read_bytes(), (RES / "bad_extinf.m3u8").read_bytes(),
    b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-4\n#EXTINF:6,\na.ts\n",
    b"#EXTM3U\n#EXT-X-TARGETDURATION:soon\n",
])
def test_broken_playlists_raise_playlist_error(data: bytes) -> None:
    with pytest.raises(PlaylistError, match="bad"):
        parse_playlist(data, BASE)


_LINES = st.sampled_from([
    "#EXTINF:", "#EXTINF:4,", "#EXT-X-KEY:METHOD=AES-128,URI=", "#EXT-X-BYTERANGE:", "#EXT-X-MAP:URI=",
    "#EXT-X-STREAM-INF:BANDWIDTH=", "#EXT-X-MEDIA-SEQUENCE:", "#EXT-X-TARGETDURATION:", "a.ts", "",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_LINES, st.text(max_size=12)), max_size=12))
def test_any_extm3u_input_parses_or_raises_playlist_error(lines: list[tuple[str, str]]) -> None:
    data = "\n".join(["#EXTM3U", *(a + b for a, b in lines)]).encode()
    try:
        result = parse_playlist(data, BASE)
    except PlaylistError:
        return
    assert isinstance(result, MasterPlaylist | MediaPlaylist)


# --- sniffing ------------------------------------------------------------------------------


def test_real_ts_segment_sniffs_as_ts_however_it_is_cut(made: Path) -> None:
    ts = (made / "ts0.ts").read_bytes()[:4096]
    assert sniff_media(ts) == "ts"
    assert sniff_media(ts[50:]) == "ts"  # starts mid-packet
    assert sniff_media(b"\x89PNG\r\n\x1a\n" + bytes(300) + ts) == "ts"  # a CDN's fake image header
    m2ts = b"".join(b"\x00\x00\x00\x00" + ts[i : i + 188] for i in range(0, 188 * 8, 188))
    assert sniff_media(m2ts) == "ts"


def test_real_fmp4_init_and_fragment(made: Path) -> None:
    assert sniff_media((made / "init.mp4").read_bytes()[:4096]) == "fmp4"
    fragment = (made / "f0.m4s").read_bytes()[:4096]
    assert sniff_media(fragment) == "fmp4"
    emsg = (24).to_bytes(4, "big") + b"emsg" + bytes(16)
    assert sniff_media(emsg + fragment) == "fmp4"


def test_real_adts_and_id3_packed_audio(made: Path) -> None:
    plain = (made / "plain.aac").read_bytes()[:4096]
    assert sniff_media(plain) == "adts"
    assert sniff_media((made / "tagged.aac").read_bytes()[:4096]) == "id3"
    priv = b"ID3\x04\x00\x00\x00\x00\x00\x3fPRIV" + bytes(59)  # an HLS timestamp tag, then TS
    assert sniff_media(priv + (made / "ts0.ts").read_bytes()[:2048]) == "id3"
    assert sniff_media(priv + b"<html>nope</html>" * 20) is None


@pytest.mark.parametrize("data", [
    (RES / "error_page.html").read_bytes(), b"", b"#EXTM3U\n#EXTINF:6,\na.ts\n", b"OK",
    random.Random(7).randbytes(4096), random.Random(8).randbytes(188 * 3),
    b"\x47" + random.Random(9).randbytes(4000), b"\x00\x00\x00\x03ftyp",
    b"\xff\xf1" + bytes(10), b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(16),
])
def test_non_media_sniffs_as_none(data: bytes) -> None:
    assert sniff_media(data) is None


def test_is_text(made: Path) -> None:
    assert is_text((RES / "error_page.html").read_bytes())
    assert is_text(b'{"error":"token expired"}') and is_text(b"Forbidden\n")
    assert not is_text((made / "ts0.ts").read_bytes()[:4096])
    assert not is_text(random.Random(3).randbytes(4096))


# --- AES-128 -------------------------------------------------------------------------------


def test_ffmpeg_encrypted_segment_decrypts_to_ts(made: Path) -> None:
    pl = parse_playlist((made / "enc.m3u8").read_bytes(), (made / "enc.m3u8").as_uri())
    assert isinstance(pl, MediaPlaylist)
    seg = pl.segments[-1]
    assert seg.key is not None and seg.key.uri == (made / "k.key").as_uri()
    data = Path(seg.uri.removeprefix("file://")).read_bytes()[:4096]
    assert sniff_media(data) is None  # ciphertext is not media
    assert sniff_media(decrypt_prefix(data, KEY, segment_iv(seg.key, seg.sequence))) == "ts"
    assert sniff_media(decrypt_prefix(data, bytes(16), segment_iv(seg.key, seg.sequence))) is None


def test_prefix_decrypts_exactly_with_the_sequence_number_iv(made: Path) -> None:
    plain = (made / "ts1.ts").read_bytes()
    iv = (1234).to_bytes(16, "big")
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(KEY), modes.CBC(iv)).encryptor()
    cipher = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    assert decrypt_prefix(cipher[:4010], KEY, iv) == plain[:4000]  # whole blocks only
    assert decrypt_prefix(cipher[:15], KEY, iv) == b""


def test_decrypt_refuses_bad_key_or_iv_length() -> None:
    with pytest.raises(PlaylistError, match="decrypt failed"):
        decrypt_prefix(bytes(64), b"<html>", bytes(16))
    with pytest.raises(PlaylistError, match="decrypt failed"):
        decrypt_prefix(bytes(64), KEY, bytes(8))
