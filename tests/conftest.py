"""Root fixtures: the generated media and the local HLS origin (see tests/origin.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from origin import TestOrigin  # tests/ is on sys.path (rootdir conftest, no __init__.py)
from slipstream.demo.media import MediaSet, ensure_media

MEDIA_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "media"
_running: list[TestOrigin] = []


@pytest.fixture(scope="session")
def media() -> MediaSet:
    """The generated H.264/AAC media set, cached in .cache/media across runs."""
    return ensure_media(MEDIA_CACHE)


@pytest.fixture(scope="session")
def origin(media: MediaSet) -> Iterator[TestOrigin]:
    """The local HLS origin on 127.0.0.1, shared by the whole session."""
    server = TestOrigin(media).start()
    _running.append(server)
    yield server
    _running.remove(server)
    server.close()


@pytest.fixture(autouse=True)
def _reset_origin() -> Iterator[None]:
    """Undo per-test origin switches (kills, latency) after every test, if the origin runs."""
    yield
    for server in _running:
        server.reset()
