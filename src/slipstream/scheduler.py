"""Background jobs (APScheduler), started and stopped by the app's lifespan."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from slipstream.config import Settings
from slipstream.service import ExtractionService

log = logging.getLogger(__name__)


async def _extract(service: ExtractionService) -> None:
    try:
        await service.run()
    except Exception:  # a failed run must never stop the schedule
        log.exception("extraction run failed")


def start_scheduler(settings: Settings, service: ExtractionService) -> AsyncIOScheduler:
    """Schedule extraction runs; the first starts at once, in the background."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        _extract, "interval", args=[service], id="extract",
        seconds=max(settings.schedule.extract_every, 1.0),
        next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.start()
    return scheduler
