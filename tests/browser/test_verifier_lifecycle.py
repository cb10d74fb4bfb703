"""The verifier's browser lifecycle: relaunch after a crash, hard deadlines that leak nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

import pytest
from browser_support import make_verifier, page_processes

from origin import TestOrigin
from slipstream.models import Verdict
from slipstream.playback import PlaybackVerifier

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll `condition` until it holds; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_killed_browser_is_relaunched_by_the_next_check(
    verifier: PlaybackVerifier, origin: TestOrigin
) -> None:
    host = verifier.host
    assert host is not None
    assert (await verifier.verify(origin.url("/live/ts360/index.m3u8"))).is_playable
    old_pid, launches = host.root_pid(), host.launches
    assert old_pid is not None

    slow_url = origin.url("/~delay=3000/live/master.m3u8")
    in_flight = asyncio.create_task(verifier.verify(slow_url))
    await wait_until(lambda: verifier.open_contexts() == 1)
    os.kill(old_pid, signal.SIGKILL)
    # The browser failed, not the stream: no verdict on it rather than a false "dead".
    assert await in_flight == Verdict(slow_url, False, None, "not verified: browser failed")

    after = await verifier.verify(origin.url("/live/master.m3u8"))
    assert (after.is_playable, after.reason) == (True, "playing")
    assert host.launches == launches + 1
    assert host.root_pid() not in (None, old_pid)


async def test_verify_many_leaves_out_what_the_dead_browser_could_not_check(
    verifier: PlaybackVerifier, origin: TestOrigin
) -> None:
    host = verifier.host
    assert host is not None
    assert (await verifier.verify(origin.url("/live/ts234/index.m3u8"))).is_playable
    slow, fast = origin.url("/~delay=4000/~id=a/live/master.m3u8"), origin.url("/live/master.m3u8")
    run = asyncio.create_task(verifier.verify_many([(slow, {}, "hls")]))
    await wait_until(lambda: verifier.open_contexts() == 1)
    pid = host.root_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert await run == {}
    assert (await verifier.verify_many([(fast, {}, "hls")]))[fast].is_playable


async def test_checks_past_their_deadline_close_everything(origin: TestOrigin) -> None:
    verifier = make_verifier(timeout=4.0)
    assert verifier.host is not None
    try:
        await verifier.host.get()  # launched before the clock starts, as in verify()
        # The launch's codec probe had a page of its own: its renderer goes with its context.
        await wait_until(lambda: page_processes(verifier) == 0)
        for url, kind in ((origin.url("/~delay=5000/live/master.m3u8"), "hls"),
                          (origin.url("/~delay=5000/embeds/slow.html"), "embed")):
            started = time.monotonic()
            check = asyncio.create_task(verifier.verify(url, {}, kind))
            await wait_until(lambda: page_processes(verifier) > 0)  # its renderer is counted
            verdict = await check
            assert time.monotonic() - started < 4.0 + 1.0
            assert (verdict.is_playable, verdict.reason) == (False, "timeout")
            assert verifier.open_contexts() == 0
            # The check's renderer goes away with its context.
            await wait_until(lambda: page_processes(verifier) == 0)
    finally:
        await verifier.close()
    assert verifier.host.pids() == []
