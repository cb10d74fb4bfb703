"""Background jobs (APScheduler), started and stopped by the app's lifespan."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from slipstream.config import Settings
from slipstream.service import ExtractionService
from slipstream.tokens.refresher import TokenRefreshManager

log = logging.getLogger(__name__)
REFRESH_TICK_S = 1.0


async def _extract(service: ExtractionService) -> None:
    try:
        await service.run()
    except asyncio.CancelledError:
        log.info("extraction run cancelled (shutting down)")
    except Exception:  # a failed run must never stop the schedule
        log.exception("extraction run failed")


async def _refresh(refresher: TokenRefreshManager) -> None:
    try:
        await refresher.tick()
    except Exception:  # a failed refresh must never stop the schedule
        log.exception("token refresh failed")


def start_scheduler(settings: Settings, service: ExtractionService,
                    refresher: TokenRefreshManager | None = None) -> AsyncIOScheduler:
    """Schedule extraction runs (the first at once, in the background) and token refreshes."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        _extract, "interval", args=[service], id="extract",
        seconds=max(settings.schedule.extract_every, 1.0),
        next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
        misfire_grace_time=None,
    )
    if refresher is not None:
        # Cheap when nothing is due; due times come from each token's own expiry.
        scheduler.add_job(_refresh, "interval", args=[refresher], id="refresh", seconds=REFRESH_TICK_S,
                          max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
