"""The embed check: open a page and watch every <video> in every frame for decoded frames."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from slipstream.models import Verdict

log = logging.getLogger(__name__)

POLL_S = 0.2
ADVANCE_S = 1.0            # playable: currentTime moved this far after the first decoded frame
NO_FRAMES_AFTER_S = 2.0    # time moving this far with zero frames: audio of an undecodable video
NO_VIDEO_AFTER_S = 5.0     # after the page loaded, no <video> anywhere this long: give up
CLICK_AFTER_S = 2.0        # nothing playing this long after load: one click on a play control
END_MARGIN_S = 0.5         # decide before the verifier's hard deadline
PLAY_CONTROLS = ", ".join([
    'button[aria-label^="play" i]', '[role="button"][aria-label^="play" i]',
    'button[title^="play" i]', 'button:text-is("Play")', '.vjs-big-play-button',
    '[class*="play-button" i]', '[class*="playbutton" i]', '[class*="play-btn" i]',
])
VIDEO_STATS = """() => Array.from(document.querySelectorAll("video"), (v) => ({
  frames: v.getVideoPlaybackQuality().totalVideoFrames,
  time: v.currentTime,
  error: v.error ? (v.error.message || `code ${v.error.code}`) : null,
}))"""


@dataclass
class _Seen:
    """What one <video> has shown so far."""

    first_time: float | None = None      # currentTime when first seen moving
    last_time: float = 0.0               # currentTime at the latest sample
    start_time: float | None = None      # currentTime at the first sample
    frame_time: float | None = None      # currentTime at the first decoded frame
    frame_at: float | None = None        # monotonic time of the first decoded frame

    def observe(self, frames: int, time_now: float, now: float) -> bool:
        """Take one sample; True once frames were decoded and time advanced ADVANCE_S since."""
        self.last_time = time_now
        if self.start_time is None:
            self.start_time = time_now
        if self.first_time is None and time_now > 0:
            self.first_time = time_now
        # A paused video shows its first frame at time 0: playing means frames *and* time.
        if frames > 0 and time_now > 0 and self.frame_time is None:
            self.frame_time, self.frame_at = time_now, now
        return self.frame_time is not None and time_now - self.frame_time >= ADVANCE_S


@dataclass
class VideoWatch:
    """Decides from successive samples of every <video> whether the page plays."""

    started: float
    seen: dict[tuple[int, int], _Seen] = field(default_factory=dict)
    error: str | None = None

    def update(self, samples: dict[tuple[int, int], dict[str, Any]], now: float) -> str | None:
        """'playing', 'no frames decoded', or None while undecided."""
        for key, s in samples.items():
            if s.get("error"):
                self.error = f"media error: {s['error']}"
            seen = self.seen.setdefault(key, _Seen())
            if seen.observe(int(s["frames"]), float(s["time"]), now):
                return "playing"
        if self._audio_only(samples):
            return "no frames decoded"
        return None

    def has_frames(self) -> bool:
        """True once any video decoded a frame."""
        return any(s.frame_time is not None for s in self.seen.values())

    def moving(self) -> bool:
        """True when some video's currentTime has moved since it was first seen."""
        return any(s.last_time - (s.start_time or 0.0) > 0.1 for s in self.seen.values())

    def _audio_only(self, samples: dict[tuple[int, int], dict[str, Any]]) -> bool:
        if self.has_frames():
            return False
        return any(self.seen[k].first_time is not None
                   and float(s["time"]) - (self.seen[k].first_time or 0) >= NO_FRAMES_AFTER_S
                   for k, s in samples.items())

    def first_frame_ms(self) -> float | None:
        """Milliseconds from the start of the check to the first decoded frame."""
        times = [s.frame_at for s in self.seen.values() if s.frame_at is not None]
        return round((min(times) - self.started) * 1000, 1) if times else None

    def final_reason(self) -> str:
        """Why the page did not play, once time is up."""
        if not self.seen:
            return "no video"
        if self.error:
            return self.error
        return "timeout"


async def _sample(page: Page) -> dict[tuple[int, int], dict[str, Any]]:
    """Stats of every <video> in every frame, keyed by (frame index, video index)."""
    samples: dict[tuple[int, int], dict[str, Any]] = {}
    for i, frame in enumerate(page.frames):
        try:
            videos = await frame.evaluate(VIDEO_STATS)
        except PlaywrightError:  # a frame that navigated or went away meanwhile
            continue
        samples.update({(i, j): v for j, v in enumerate(videos)})
    return samples


async def _click_play(page: Page) -> bool:
    """One click on something that plainly is a play control, in any frame."""
    for frame in page.frames:
        control = frame.locator(PLAY_CONTROLS).first
        try:
            if await control.is_visible():
                await control.click(timeout=1000)
                log.debug("clicked a play control in %s", frame.url)
                return True
        except PlaywrightError:
            continue
    return False


async def check_embed(
    context: BrowserContext, url: str, headers: Mapping[str, str], deadline: float
) -> Verdict:
    """Open the embed page; playable when some <video> decodes frames and advances."""
    started = time.monotonic()
    referer = next((v for k, v in headers.items() if k.lower() == "referer"), None)
    page = await context.new_page()
    try:
        response = await page.goto(url, referer=referer, wait_until="domcontentloaded")
    except PlaywrightError as exc:
        return Verdict(url, False, None, f"page load failed: {str(exc).splitlines()[0]}")
    if response is not None and response.status >= 400:
        return Verdict(url, False, None, f"http {response.status}")
    return await _watch(page, url, started, deadline - END_MARGIN_S)


async def _watch(page: Page, url: str, started: float, deadline: float) -> Verdict:
    watch, loaded, clicked = VideoWatch(started), time.monotonic(), False
    while time.monotonic() < deadline:
        if page.is_closed():  # the browser went away under the check
            raise PlaywrightError("page closed before the check ended")
        outcome = watch.update(await _sample(page), time.monotonic())
        if outcome == "playing":
            return Verdict(url, True, watch.first_frame_ms(), "playing")
        if outcome is not None:
            return Verdict(url, False, None, outcome)
        waited = time.monotonic() - loaded
        if not watch.seen and waited >= NO_VIDEO_AFTER_S:
            return Verdict(url, False, None, "no video")
        if not clicked and waited >= CLICK_AFTER_S and not watch.moving():
            clicked = await _click_play(page)
        await asyncio.sleep(POLL_S)
    return Verdict(url, False, None, watch.final_reason())
