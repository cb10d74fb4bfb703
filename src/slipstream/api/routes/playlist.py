"""`GET /playlist.m3u`: the live HLS streams as an extended M3U of absolute proxy URLs.

VLC, mpv, Kodi, Jellyfin and ffmpeg open it directly. Only HLS streams are listed:
an embed is a web page, which none of those players can play.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request, Response

from slipstream.api.deps import ServiceDep
from slipstream.models import Stream

router = APIRouter(tags=["playlist"])

M3U_TYPE = "audio/x-mpegurl; charset=utf-8"
# M3U has no escapes. Readers split #EXTINF at a comma (some at the last one, e.g. Kodi)
# and attribute values at double quotes, so those become look-alikes no reader splits on.
_LOOKALIKE = str.maketrans({",": "\u201a", '"': "'"})
# Players show group-title as a folder name: the names the web page shows (web/format.js), not tag keys.
SERIES_NAMES = {
    "f1": "F1", "f2": "F2", "f3": "F3", "f1-academy": "F1 Academy", "formula-e": "Formula E",
    "motogp": "MotoGP", "moto2": "Moto2", "moto3": "Moto3", "wsbk": "WorldSBK", "wrc": "WRC", "wec": "WEC",
    "imsa": "IMSA", "nascar": "NASCAR", "indycar": "IndyCar", "dtm": "DTM", "btcc": "BTCC",
    "supercars": "Supercars",
}


def clean(text: str) -> str:
    """One line of text safe in an #EXTINF attribute value or title."""
    return " ".join(text.split()).translate(_LOOKALIKE)


def proxy_url(base_url: str, stream_id: str) -> str:
    """The absolute proxy URL of a stream's master playlist."""
    return f"{base_url.rstrip('/')}/proxy/{quote(stream_id, safe='')}/master.m3u8"


def group(stream: Stream) -> str:
    """The group-title of a stream: its series by display name, else the source's name."""
    if stream.series:
        return SERIES_NAMES.get(stream.series, stream.series)
    return stream.site_name


def extinf(stream: Stream) -> str:
    """The #EXTINF line of one stream."""
    attrs = {
        "tvg-id": stream.tvg_id or stream.id,
        "tvg-name": stream.title,
        "group-title": group(stream),
    }
    if stream.logo and urlsplit(stream.logo).scheme in ("http", "https"):
        attrs["tvg-logo"] = stream.logo
    rendered = " ".join(f'{name}="{clean(value)}"' for name, value in attrs.items())
    return f"#EXTINF:-1 {rendered},{clean(stream.title) or stream.id}"


def render_m3u(streams: Iterable[Stream], base_url: str) -> str:
    """An extended M3U of the HLS streams among `streams`, in their order."""
    lines = ["#EXTM3U"]
    for stream in streams:
        if stream.stream_type == "m3u8":
            lines += [extinf(stream), proxy_url(base_url, stream.id)]
    return "\n".join(lines) + "\n"


@router.get("/playlist.m3u", response_class=Response)
async def playlist(request: Request, service: ServiceDep) -> Response:
    """The live HLS streams, best first, as proxy URLs on the address the client used."""
    body = render_m3u(service.view.ranked, str(request.base_url))
    headers = {"Content-Disposition": 'inline; filename="slipstream.m3u"', "Cache-Control": "no-cache"}
    return Response(body, media_type=M3U_TYPE, headers=headers)
