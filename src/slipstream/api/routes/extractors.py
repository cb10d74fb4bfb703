"""Extractor status and the admin trigger for a run."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from slipstream.api.deps import Admin, ServiceDep
from slipstream.api.schemas import ExtractorStatus, RunTriggered

router = APIRouter(tags=["extractors"])
log = logging.getLogger(__name__)


@router.get("/extractors", response_model=ExtractorStatus)
async def extractors(service: ServiceDep) -> dict[str, object]:
    """Per-extractor counts, errors and durations, the last run, and the verifier's state."""
    return service.status()


@router.post("/extract", status_code=202, response_model=RunTriggered, dependencies=[Admin])
async def trigger(service: ServiceDep, request: Request) -> JSONResponse:
    """Start an extraction run in the background (admin); never more than one at a time."""
    state = request.app.state
    pending: asyncio.Task[object] | None = getattr(state, "triggered_run", None)
    # `service.running` is set only once the new task first runs: a trigger that races
    # this one (sync dependencies hop through the thread pool) must see the task itself.
    if service.running or (pending is not None and not pending.done()):
        return JSONResponse({"status": "already running"}, status_code=202)
    tasks: set[asyncio.Task[object]] = state.tasks
    task = state.triggered_run = asyncio.create_task(service.run())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return JSONResponse({"status": "started"}, status_code=202)
