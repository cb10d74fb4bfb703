"""The watching proxy: rewritten playlists, and signed segments streamed through.

Players never see an upstream URL. A master is rewritten so variants point at
`/proxy/{id}/v/{key}.m3u8` (resolved against the freshest master on every
reload) and everything else at signed, short-lived `/proxy/{id}/s/…` URLs.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import StreamingResponse

from slipstream.api.deps import RuntimeDep
from slipstream.errors import PlaylistError, UpstreamError
from slipstream.hls.rewrite import resolve_variant, rewrite_master, rewrite_media, variants
from slipstream.models import Stream
from slipstream.proxy.stable import TOKEN_PARAM, StableSigner
from slipstream.proxy.upstream import PASS_HEADERS, REFRESH_STATUSES, stream_body
from slipstream.runtime import Runtime
from slipstream.urls import add_query

router = APIRouter(prefix="/proxy", tags=["proxy"])

M3U8 = "application/vnd.apple.mpegurl"
_LL_HLS = ("_HLS_msn", "_HLS_part", "_HLS_skip")
PROBE_HEADER = "x-slipstream-probe"
PLAYLIST_HEADERS = {"Cache-Control": "no-store"}  # CORS headers: api/proxy_metrics.py, on every response


class QuietSegments(logging.Filter):
    """Keeps segment requests out of uvicorn's access log (playlist requests stay).

    Each viewer fetches a segment every few seconds: logging them all floods the console
    and cost 15% of the proxy's CPU under load (bench/proxy.py).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = str(args[2]) if isinstance(args, tuple) and len(args) > 2 else ""
        return not (path.startswith("/proxy/") and "/s/" in path)


def _known(rt: Runtime, stream_id: str) -> Stream:
    stream = rt.service.lookup(stream_id) or rt.refresher.watched_stream(stream_id)
    if stream is None or stream.stream_type != "m3u8":
        raise HTTPException(404, f"no HLS stream with id {stream_id}")
    return stream


def _signer(rt: Runtime) -> Any:
    """The signer the rewriter uses: segment URLs that survive token refreshes (stable.py)."""
    return StableSigner(rt.signer)  # duck-typed: the rewriter only calls sign()


def is_probe(request: Request) -> bool:
    """The playback verifier's requests: they check a stream, nobody is watching it."""
    return request.headers.get(PROBE_HEADER) == "1"


def _directives(request: Request) -> list[tuple[str, str]]:
    """The player's LL-HLS delivery directives (RFC 8216bis §6.2.5.2), to pass upstream.

    A low-latency player asks for a playlist that does not exist yet (`_HLS_msn`,
    `_HLS_part`) and the origin holds the request until it does; dropping them would
    turn every blocking reload into an immediate, stale one.
    """
    return [(k, v) for k in _LL_HLS if (v := request.query_params.get(k)) is not None]


def _is_master(text: str) -> bool:
    return "#EXT-X-STREAM-INF" in text


def _playlist(body: str) -> Response:
    return Response(body, media_type=M3U8, headers=PLAYLIST_HEADERS)


@router.get("/{stream_id}/master.m3u8")
async def master(stream_id: str, request: Request, rt: RuntimeDep) -> Response:
    """The stream's master (or media) playlist, every URI rewritten through the proxy."""
    stream = _known(rt, stream_id)
    if not is_probe(request):
        rt.refresher.watch(stream)
    # A stream whose URL is a media playlist is reloaded here, blocking reloads included.
    fetched = await rt.upstream.master(stream, fresh=True, directives=_directives(request))
    rewrite = rewrite_master if _is_master(fetched.text) else rewrite_media
    return _playlist(rewrite(fetched.text, fetched.url, stream_id, _signer(rt)))


@router.get("/{stream_id}/v/{key}.m3u8")
async def variant(stream_id: str, key: str, request: Request, rt: RuntimeDep) -> Response:
    """A variant, resolved against the freshest master, so refreshed tokens reach the player."""
    stream = _known(rt, stream_id)
    # A player may hold a variant URL without ever fetching the master again (a restarted
    # service, an idle-expired watch), and the variant needs fresh tokens all the same.
    if not is_probe(request):
        rt.refresher.watch(stream)
    refreshed = False  # one failed reload runs the extractor at most once, master's refusals included
    for attempt in (0, 1):
        fetched = await rt.upstream.master(stream, fresh=attempt > 0, refresh=not refreshed)
        refreshed = refreshed or fetched.refreshed
        used = rt.refresher.current_url(stream)  # the URL that master came from
        try:
            url = resolve_variant(fetched.text, fetched.url, key)
        except PlaylistError:
            raise HTTPException(404, f"no variant {key} in the current master") from None
        try:
            media = await rt.upstream.fetch_text(add_query(url, _directives(request)),
                                                 rt.upstream.headers(stream))
            renditions = variants(fetched.text, fetched.url)
            return _playlist(rewrite_media(media.text, media.url, stream_id, _signer(rt),
                                           renditions=renditions))
        except UpstreamError as exc:
            status = getattr(exc, "status", None)
            if refreshed or status not in REFRESH_STATUSES or rt.refresher.get(stream_id) is None:
                raise
            await rt.refresher.refresh_now(stream_id, failed_url=used)
            refreshed = True
    raise AssertionError("unreachable")


@router.get("/{stream_id}/s/{name}")
async def signed(stream_id: str, name: str, request: Request, rt: RuntimeDep) -> Response:
    """A segment, key, init section or nested playlist behind a signed, expiring URL."""
    ext = name.rpartition(".")[2]
    token = request.query_params.get(TOKEN_PARAM)
    upstream_url = StableSigner(rt.signer).verify(stream_id, name, token)  # ProxyDenied -> 403
    stream = _known(rt, stream_id)
    rt.refresher.touch(stream_id)
    if ext == "m3u8":
        media = await rt.upstream.fetch_text(upstream_url, rt.upstream.headers(stream))
        return _playlist(rewrite_media(media.text, media.url, stream_id, _signer(rt)))
    resp = await rt.upstream.open_segment(upstream_url, stream, request.headers.get("range"))
    if resp.status >= 400:
        rt.upstream.on_error(resp.status)
        resp.release()
        status = resp.status if resp.status in (403, 404, 410, 416) else 502
        return Response(status_code=status)
    headers = {k: v for k in PASS_HEADERS if (v := resp.headers.get(k)) is not None}
    return StreamingResponse(stream_body(resp), status_code=resp.status, headers=headers)
