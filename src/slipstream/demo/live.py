"""Live sliding-window and VOD playlists over a looped media set (pure; RFC 8216)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from slipstream.demo.media import FPS, Rendition

WINDOW = 6          # segments in a live playlist
AUDIO_GROUP = "aud"


@dataclass(frozen=True)
class LiveClock:
    """Maps wall-clock time to the media sequence number of the live window's first segment."""

    start: float
    segment_seconds: float

    def sequence(self, now: float) -> int:
        """floor((now - start) / segment duration), never negative."""
        return max(0, math.floor((now - self.start) / self.segment_seconds))


def target_duration(rendition: Rendition) -> int:
    """RFC 8216 section 4.3.3.1: every EXTINF rounded to the nearest integer must fit."""
    return max(math.floor(d + 0.5) for d in rendition.durations)


def _header(rendition: Rendition, first: int, loop: int, query: str) -> list[str]:
    # Section 6.2.2: the discontinuity sequence counts wraps that slid out of the window;
    # the wrap before the window's first segment is counted, not tagged.
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{6 if rendition.init else 3}",
             f"#EXT-X-TARGETDURATION:{target_duration(rendition)}",
             f"#EXT-X-MEDIA-SEQUENCE:{first}", f"#EXT-X-DISCONTINUITY-SEQUENCE:{first // loop}",
             "#EXT-X-INDEPENDENT-SEGMENTS"]
    if rendition.init:
        lines.append(f'#EXT-X-MAP:URI="{rendition.init}{query}"')
    if rendition.key_file:
        lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="{rendition.key_file}{query}",IV={rendition.iv}')
    return lines


def media_playlist(rendition: Rendition, loop: int, first: int, size: int, *,
                   endlist: bool = False, query: str = "") -> str:
    """Segments first..first+size-1 of the endless loop; segment k plays file k % loop."""
    lines = _header(rendition, first, loop, query)
    if endlist:
        lines.insert(2, "#EXT-X-PLAYLIST-TYPE:VOD")
    for k in range(first, first + size):
        if k % loop == 0 and k != first:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{rendition.durations[k % loop]:.3f},")
        lines.append(f"{k}{rendition.extension}{query}")
    if endlist:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _stream_inf(rendition: Rendition, audio: Rendition | None) -> str:
    bandwidth, codecs = rendition.bandwidth, rendition.codecs
    if audio is not None:
        bandwidth += audio.bandwidth
        codecs = f"{codecs},{audio.codecs}"
    attrs = [f"BANDWIDTH={bandwidth}", f'CODECS="{codecs}"']
    if rendition.resolution:
        attrs += [f"RESOLUTION={rendition.resolution}", f"FRAME-RATE={FPS:.3f}"]
    if audio is not None:
        attrs.append(f'AUDIO="{AUDIO_GROUP}"')
    return "#EXT-X-STREAM-INF:" + ",".join(attrs)


def master_playlist(variants: list[Rendition], audio: Rendition | None = None, query: str = "") -> str:
    """A master listing each variant at `<name>/index.m3u8`, with an optional alternate-audio group."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio is not None:
        lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="Commentary",LANGUAGE="en",'
                     f'DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="{audio.name}/index.m3u8{query}"')
    for rendition in sorted(variants, key=lambda r: -r.bandwidth):
        lines += [_stream_inf(rendition, audio), f"{rendition.name}/index.m3u8{query}"]
    return "\n".join(lines) + "\n"
