"""Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from slipstream.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics(rt: RuntimeDep) -> Response:
    """Runs, streams, health-check latency and reasons, verifier outcomes, proxy traffic, refreshes."""
    return Response(rt.service.metrics.render(), media_type=CONTENT_TYPE_LATEST)
