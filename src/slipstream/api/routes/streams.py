"""Read routes over the ranked stream list; answered from memory, never extracting."""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, HTTPException, Request, Response

from slipstream.api.deps import Admin, ServiceDep
from slipstream.api.schemas import StreamPublic
from slipstream.ranking import for_session
from slipstream.view import Body, public_dict

router = APIRouter(prefix="/streams", tags=["streams"])

JSON = "application/json"


@router.get("", response_model=list[StreamPublic])
async def live_streams(request: Request, service: ServiceDep) -> Response:
    """Live streams, ranked: fastest first (gzipped when accepted, 304 when unchanged)."""
    return _precomputed(request, service.view.ranked_body)


def _precomputed(request: Request, body: Body) -> Response:
    # Pollers (the web UI) revalidate; a list is a megabyte for 2,000 streams, 20x smaller gzipped.
    headers = {"ETag": body.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    tags = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if body.etag in tags or "*" in tags:
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request.headers.get("accept-encoding", "")):
        return Response(body.gzip, media_type=JSON, headers={**headers, "Content-Encoding": "gzip"})
    return Response(body.data, media_type=JSON, headers=headers)


def _accepts_gzip(header: str) -> bool:
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip":
            weight = params.replace(" ", "").partition("q=")[2]
            return not re.fullmatch(r"0(\.0*)?", weight)  # q=0 means "not acceptable" (RFC 9110 §12.5.3)
    return False


@router.get("/all", response_model=list[StreamPublic], dependencies=[Admin])
async def all_streams(service: ServiceDep) -> Response:
    """Every cached stream, failed ones included (with their reason), for debugging."""
    return Response(service.view.all_json, media_type=JSON)


@router.get("/session/{session_type}", response_model=list[StreamPublic])
async def session_streams(session_type: str, service: ServiceDep) -> Response:
    """Live streams for a session (race, qualifying, sprint, fp1…); untagged ones included."""
    streams = for_session(service.view.ranked, session_type)
    return Response(json.dumps([public_dict(s) for s in streams]), media_type=JSON)


@router.get("/{stream_id}", response_model=StreamPublic)
async def one_stream(stream_id: str, service: ServiceDep) -> Response:
    """One cached stream by id."""
    stream = service.view.by_id.get(stream_id)
    if stream is None:
        raise HTTPException(404, f"no stream with id {stream_id}")
    return Response(json.dumps(public_dict(stream)), media_type=JSON)
