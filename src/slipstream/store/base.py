"""The Store interface and the rows it keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from slipstream.models import Stream

HISTORY_WINDOW_S = 24 * 3600.0     # uptime is the live share of checks in this window
HISTORY_KEEP_S = 7 * 24 * 3600.0   # older check rows are pruned


@dataclass
class CheckRow:
    """One check of one stream, for the history behind `uptime`."""

    stream_id: str
    checked_at: float          # Unix time
    is_live: bool
    response_time_ms: float | None
    first_frame_ms: float | None


@dataclass
class RunRecord:
    """Statistics of one extraction run."""

    started_at: str
    duration_s: float
    stream_count: int
    live_count: int
    errors: dict[str, str] = field(default_factory=dict)


class Store(Protocol):
    """Persistence behind the serving cache."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def load_cache(self) -> dict[str, list[Stream]]: ...
    async def save_entry(self, site_key: str, streams: list[Stream]) -> None: ...
    async def record_checks(self, rows: list[CheckRow]) -> None: ...
    async def uptime(self, now: float) -> dict[str, float]: ...
    async def record_run(self, run: RunRecord) -> None: ...
    async def last_run(self) -> RunRecord | None: ...
