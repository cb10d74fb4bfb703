"""Watching: mark a stream watched (its tokens kept fresh) and list what is watched."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel

from slipstream.api.deps import Admin, RuntimeDep

router = APIRouter(tags=["watch"])


class WatchStarted(BaseModel):
    id: str
    proxy_url: str | None
    stream_type: str
    embed_url: str | None


class ActivePublic(BaseModel):
    stream_id: str
    site_key: str
    original_url: str
    current_url: str
    last_refreshed: str | None
    refresh_count: int
    last_error: str | None


@router.post("/streams/{stream_id}/watch", response_model=WatchStarted)
async def watch(stream_id: str, rt: RuntimeDep) -> WatchStarted:
    """Mark a stream watched and return the proxy URL to play (embeds play their page)."""
    stream = rt.service.lookup(stream_id)
    if stream is None:
        raise HTTPException(404, f"no stream with id {stream_id}")
    if stream.stream_type == "embed":
        return WatchStarted(id=stream_id, proxy_url=None, stream_type="embed",
                            embed_url=stream.embed_url or stream.url)
    rt.refresher.watch(stream)
    return WatchStarted(id=stream_id, proxy_url=f"/proxy/{stream_id}/master.m3u8",
                        stream_type="m3u8", embed_url=None)


@router.delete("/streams/{stream_id}/watch", status_code=204)
async def unwatch(stream_id: str, rt: RuntimeDep) -> Response:
    """Stop watching (a no-op when the stream is not watched)."""
    rt.refresher.unwatch(stream_id)
    return Response(status_code=204)


@router.get("/active", response_model=list[ActivePublic], dependencies=[Admin])
async def active(rt: RuntimeDep) -> list[dict[str, object]]:
    """Watched streams with their original and current URLs (admin: URLs carry tokens)."""
    return [asdict(a) for a in rt.refresher.active()]
