"""Read routes over the ranked stream list; answered from memory, never extracting."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Response

from slipstream.api.deps import Admin, ServiceDep
from slipstream.api.schemas import StreamPublic
from slipstream.ranking import for_session
from slipstream.service import public_dict

router = APIRouter(prefix="/streams", tags=["streams"])

JSON = "application/json"


@router.get("", response_model=list[StreamPublic])
async def live_streams(service: ServiceDep) -> Response:
    """Live streams, ranked: fastest first."""
    return Response(service.view.ranked_json, media_type=JSON)


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
