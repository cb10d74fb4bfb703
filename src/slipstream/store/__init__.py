"""Stores: the in-memory serving cache is backed by one of these.

`memory` keeps nothing across restarts (tests); `sqlite` (the embedded default)
keeps a snapshot of the cache, check history and run statistics in one file.
"""

from __future__ import annotations

from slipstream.config import StoreSettings
from slipstream.errors import ConfigError
from slipstream.store.base import CheckRow, RunRecord, Store
from slipstream.store.memory import MemoryStore
from slipstream.store.sqlite import SqliteStore

__all__ = ["CheckRow", "MemoryStore", "RunRecord", "SqliteStore", "Store", "open_store"]


def open_store(settings: StoreSettings, file: str = "-") -> Store:
    """The store the settings ask for (not yet opened)."""
    if settings.kind == "memory":
        return MemoryStore()
    if settings.kind == "sqlite":
        return SqliteStore(settings.path / "slipstream.db")
    raise ConfigError(file, "store.kind", "the redis store is not built yet; use sqlite or memory")
