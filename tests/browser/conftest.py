"""Browser fixtures: one playback verifier (one Chromium) per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from browser_support import make_verifier

from slipstream.playback import PlaybackVerifier


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def verifier() -> AsyncIterator[PlaybackVerifier]:
    """One verifier (one Chromium) shared by a test module."""
    v = make_verifier()
    yield v
    await v.close()
