"""Byte-level helpers for the demo media (pure): ADTS splitting, ID3 timestamps, AES-128, CODECS strings."""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AAC_FRAME_SAMPLES = 1024
# RFC 8216 section 3.4: packed audio carries its first sample's MPEG-2 timestamp in this ID3 PRIV frame.
_TIMESTAMP_OWNER = b"com.apple.streaming.transportStreamTimestamp\x00"


def adts_frames(data: bytes) -> list[bytes]:
    """Split an ADTS stream into its frames; stops at the first byte that is not a frame."""
    frames, pos = [], 0
    while pos + 7 <= len(data) and data[pos] == 0xFF and data[pos + 1] & 0xF0 == 0xF0:
        length = ((data[pos + 3] & 0x03) << 11) | (data[pos + 4] << 3) | (data[pos + 5] >> 5)
        if length < 7:
            break
        frames.append(data[pos:pos + length])
        pos += length
    return frames


def adts_sample_rate(frame: bytes) -> int:
    """The sampling rate an ADTS header declares."""
    rates = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
    return rates[(frame[2] >> 2) & 0x0F]


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> shift) & 0x7F) for shift in (21, 14, 7, 0))


def id3_timestamp(pts_90khz: int) -> bytes:
    """An ID3v2.4 tag holding the PRIV transport-stream timestamp of a packed-audio segment."""
    payload = _TIMESTAMP_OWNER + struct.pack(">Q", pts_90khz & ((1 << 33) - 1))
    frame = b"PRIV" + _syncsafe(len(payload)) + b"\x00\x00" + payload
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame


def packed_audio_segments(data: bytes, seconds: list[float], base_pts: int) -> list[bytes]:
    """Cut an ADTS stream at the given segment boundaries, each piece led by its ID3 timestamp."""
    frames = adts_frames(data)
    frame_seconds = AAC_FRAME_SAMPLES / adts_sample_rate(frames[0])
    pieces, start, clock = [], 0, 0.0
    for duration in seconds:
        clock += duration
        end = min(len(frames), round(clock / frame_seconds))
        pts = base_pts + round(start * frame_seconds * 90000)
        pieces.append(id3_timestamp(pts) + b"".join(frames[start:end]))
        start = end
    return pieces


def aes128_encrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-128-CBC with PKCS7 padding, as RFC 8216 section 4.3.2.4 METHOD=AES-128 expects."""
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    padded = padder.update(data) + padder.finalize()
    return encryptor.update(padded) + encryptor.finalize()


def codec_string(mp4: bytes) -> str:
    """The RFC 6381 CODECS value of the first avcC or hvcC box found in MP4 bytes."""
    at = mp4.find(b"avcC")
    if at >= 0:
        return "avc1." + mp4[at + 5:at + 8].hex()
    at = mp4.find(b"hvcC")
    if at < 0:
        raise ValueError("no avcC or hvcC box")
    return _hevc_codec(mp4[at + 4:at + 17])


def _hevc_codec(box: bytes) -> str:
    """ISO/IEC 14496-15 annex E form: hvc1.<space><profile>.<compat>.<tier><level>.<constraints>."""
    space = ("", "A", "B", "C")[box[1] >> 6]
    tier = "H" if box[1] & 0x20 else "L"
    profile = box[1] & 0x1F
    compat = int.from_bytes(box[2:6], "big")
    compat_reversed = int(f"{compat:032b}"[::-1], 2)
    constraints = list(box[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [f"hvc1.{space}{profile}", f"{compat_reversed:X}", f"{tier}{box[12]}"]
    return ".".join(parts + [f"{b:X}" for b in constraints])
