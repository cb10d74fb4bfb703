"""Liveness of the service itself."""

from __future__ import annotations

from fastapi import APIRouter

from slipstream.api.deps import ServiceDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(service: ServiceDep) -> dict[str, object]:
    """200 while the service answers; includes how many live streams it serves."""
    return {"status": "ok", "live_streams": len(service.view.ranked)}
