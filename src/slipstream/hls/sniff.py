"""What the first bytes of a segment are, and AES-128 prefix decryption (pure).

The health check fetches only a few KiB of the newest segment, so everything
here works on a prefix: nothing needs the whole segment.
"""

from __future__ import annotations

from typing import Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from slipstream.errors import PlaylistError

MediaKind = Literal["ts", "fmp4", "adts", "id3"]

_SYNC = 0x47
# hls.js looks this far for the first TS sync byte; some CDNs prepend junk (even a fake PNG header).
_TS_SEARCH = 1024
_TS_PACKETS = 5  # sync bytes demanded when the prefix holds that many packets
_FMP4_FIRST = {b"ftyp", b"styp", b"moof", b"moov", b"sidx"}
# Boxes a CMAF segment may carry before its styp/moof (ISO/IEC 23009-1 emsg, producer reference time).
_FMP4_BEFORE = {b"emsg", b"prft", b"free", b"skip", b"uuid"}


def sniff_media(data: bytes) -> MediaKind | None:
    """"ts", "fmp4", "adts" or "id3" when `data` starts like a media segment, else None."""
    if data[:3] == b"ID3":
        return "id3" if _after_id3_is_media(data) else None
    if _is_ts(data):
        return "ts"
    if _is_fmp4(data):
        return "fmp4"
    if _is_adts(data, 0):
        return "adts"
    return None


def _is_ts(data: bytes) -> bool:
    # ISO/IEC 13818-1 packets are 188 bytes starting 0x47; M2TS (Blu-ray style) prefixes 4 bytes.
    start = data.find(bytes([_SYNC]), 0, _TS_SEARCH)
    while start != -1:
        if any(_ts_run(data, start, stride) for stride in (188, 192)):
            return True
        start = data.find(bytes([_SYNC]), start + 1, _TS_SEARCH)
    return False


def _ts_run(data: bytes, start: int, stride: int) -> bool:
    positions = range(start, min(len(data), start + stride * _TS_PACKETS), stride)
    # One sync byte proves nothing; random bytes hold a 0x47 every 256 on average.
    return len(positions) >= 2 and all(data[p] == _SYNC for p in positions)


def _is_fmp4(data: bytes) -> bool:
    # ISO/IEC 14496-12 boxes: 32-bit size (0 = to the end, 1 = 64-bit size follows), then a 4CC.
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind in _FMP4_FIRST:
            return size in (0, 1) or size >= 8
        if kind not in _FMP4_BEFORE or size < 8:
            return False
        pos += size
    return False


def _is_adts(data: bytes, pos: int) -> bool:
    # ISO/IEC 13818-7 ADTS header: 12-bit syncword, layer 00, a valid sampling index, frame length.
    head = data[pos : pos + 7]
    if len(head) < 7 or head[0] != 0xFF or head[1] & 0xF6 != 0xF0 or (head[2] >> 2) & 0x0F > 12:
        return False
    length = ((head[3] & 0x03) << 11) | (head[4] << 3) | (head[5] >> 5)
    if length < 7:
        return False
    following = data[pos + length : pos + length + 2]
    return len(following) < 2 or (following[0] == 0xFF and following[1] & 0xF6 == 0xF0)


def _after_id3_is_media(data: bytes) -> bool:
    # RFC 8216 §3.4: packed audio starts with an ID3 PRIV timestamp tag, then the audio frames.
    pos = 0
    while data[pos : pos + 3] == b"ID3":
        head = data[pos : pos + 10]
        if len(head) < 10 or any(b & 0x80 for b in head[6:10]):
            return False
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]  # syncsafe integer
        pos += 10 + size + (10 if head[5] & 0x10 else 0)  # flag 0x10: a footer follows
    return _is_adts(data, pos) or _is_ts(data[pos:])


def is_text(data: bytes) -> bool:
    """True when `data` reads as text (an HTML error page, a JSON body), not as binary media."""
    head = data[:512].lstrip()
    if not head:
        return True
    printable = sum(1 for b in head if b in (9, 10, 13) or 32 <= b < 127 or b >= 0xC2)
    return head[:1] in (b"<", b"{", b"[") or printable / len(head) > 0.95


def decrypt_prefix(data: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-128-CBC-decrypt the whole 16-byte blocks at the start of a segment (RFC 8216 §4.3.2.4)."""
    if len(key) != 16:
        raise PlaylistError(f"decrypt failed: key is {len(key)} bytes, not 16")
    if len(iv) != 16:
        raise PlaylistError(f"decrypt failed: IV is {len(iv)} bytes, not 16")
    whole = len(data) - len(data) % 16
    # CBC needs only the previous ciphertext block, so a prefix decrypts without the rest;
    # the PKCS7 padding sits at the very end of the segment, never in a prefix we sniff.
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data[:whole]) + decryptor.finalize()
