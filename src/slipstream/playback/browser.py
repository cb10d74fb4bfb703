"""Keeping one headless Chromium alive for the verifier (found by playback.locate)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

log = logging.getLogger(__name__)
T = TypeVar("T")

# Flags for a closed network: without them Chromium keeps trying to reach Google's services.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
    # A verifier cannot click every player; muted autoplay is allowed anyway, this covers embeds.
    "--autoplay-policy=no-user-gesture-required",
)
MARKER_ENV = "SLIPSTREAM_VERIFIER_ID"
# What nearly every live stream carries. Open-source Chromium builds (Playwright's own among
# them) may lack these proprietary codecs, and then every stream would fail as if dead.
H264_AAC = 'video/mp4; codecs="avc1.42E01E,mp4a.40.2"'
_PROBE_JS = "type => typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported(type)"


class BrowserUnsuitable(Exception):
    """The browser runs but cannot play what streams carry (checked once per launch)."""


def _process_parents() -> dict[int, int]:
    """pid -> parent pid of every process (read from /proc/<pid>/stat)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(errors="replace")
        except OSError:  # the process ended while we looked
            continue
        # The command name (field 2) may hold spaces; the fields after the last ')' are fixed.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(root: int, parents: dict[int, int] | None = None) -> list[int]:
    """Every process below `root` (children, their children…), from a `_process_parents()` map."""
    children: dict[int, list[int]] = {}
    for pid, parent in (parents if parents is not None else _process_parents()).items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _has_marker(pid: int, token: bytes) -> bool:
    try:
        return token in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


class BrowserHost:
    """One lazily launched headless Chromium, relaunched when it has died."""

    def __init__(self, executable: str, probe_type: str = H264_AAC) -> None:
        self.executable = executable
        self.probe_type = probe_type  # the MediaSource type a launched browser must support
        self.unsuitable: str | None = None  # why this browser cannot verify streams, once probed
        self.marker = uuid.uuid4().hex
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()
        self._gone: dict[Browser, asyncio.Event] = {}
        self._root_pid: int | None = None
        self.launches = 0
        self.probes = 0

    async def get(self) -> Browser:
        """The running browser, (re)launched when needed; BrowserUnsuitable if it lacks H.264/AAC."""
        async with self._lock:
            if self.unsuitable is not None:
                raise BrowserUnsuitable(self.unsuitable)
            if self._browser is None or not self._browser.is_connected():
                if self._browser is not None:
                    self._gone.pop(self._browser, None)
                self._browser = await self._launch()
            return self._browser

    async def new_context(self, **options: Any) -> BrowserContext:
        """A fresh context; a browser that died unnoticed is relaunched once."""
        browser = await self.get()
        try:
            return await browser.new_context(**options)
        except PlaywrightError as exc:
            log.warning("verifier browser unusable (%s); relaunching", str(exc).splitlines()[0])
            await self._discard(browser)
            return await (await self.get()).new_context(**options)

    async def died(self, browser: Browser | None, within: float) -> bool:
        """Whether `browser` has disconnected, waiting up to `within` s for the news to arrive."""
        gone = self._gone.get(browser) if browser is not None else None
        if gone is None:
            return browser is None or not browser.is_connected()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await gone.wait()
        return gone.is_set()

    async def unless_gone(self, browser: Browser | None, work: Awaitable[T]) -> T:
        """Await `work`, but raise PlaywrightError at once if `browser` disconnects meanwhile."""
        gone = self._gone.get(browser) if browser is not None else None
        task = asyncio.ensure_future(work)
        if gone is None:
            return await task
        watcher = asyncio.ensure_future(gone.wait())
        try:
            await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            if not task.done():
                task.cancel()
        if task.done() and not task.cancelled():
            return task.result()
        raise PlaywrightError("the browser closed before the check ended")

    async def _discard(self, browser: Browser) -> None:
        async with self._lock:
            if self._browser is browser:
                self._browser = None
            self._gone.pop(browser, None)
        with contextlib.suppress(PlaywrightError):  # it is already gone
            await browser.close()

    async def _launch(self) -> Browser:
        if self._playwright is None:
            self._playwright = await async_playwright().start()
        env: dict[str, str | float | bool] = {**os.environ, MARKER_ENV: self.marker}
        browser = await self._playwright.chromium.launch(
            executable_path=self.executable, headless=True, args=list(CHROMIUM_FLAGS),
            env=env, handle_sigint=False, handle_sigterm=False, handle_sighup=False,
        )
        gone = self._gone[browser] = asyncio.Event()
        browser.on("disconnected", lambda _: gone.set())
        self.launches += 1
        log.info("verifier browser launched (%s, launch #%d)", self.executable, self.launches)
        try:
            decodes = await self._probe(browser)
        except BaseException:
            await self._close_quietly(browser)
            raise
        if not decodes:
            self.unsuitable = f"browser cannot decode H.264/AAC ({self.executable})"
            log.error("verifier off: %s", self.unsuitable)
            await self._close_quietly(browser)
            raise BrowserUnsuitable(self.unsuitable)
        return browser

    async def _probe(self, browser: Browser) -> bool:
        """Whether `browser` can decode `probe_type`, asked in a blank page of its own."""
        context = await browser.new_context()
        try:
            page = await context.new_page()
            self.probes += 1
            return bool(await page.evaluate(_PROBE_JS, self.probe_type))
        finally:
            await context.close()

    async def _close_quietly(self, browser: Browser) -> None:
        self._gone.pop(browser, None)
        with contextlib.suppress(PlaywrightError):  # it may be gone already
            await browser.close()

    @property
    def browser(self) -> Browser | None:
        """The browser if one is running, without launching."""
        b = self._browser
        return b if b is not None and b.is_connected() else None

    def root_pid(self) -> int | None:
        """The browser process: the one carrying our marker whose parent does not."""
        return self._root(_process_parents())

    def pids(self) -> list[int]:
        """The browser process and all its descendants (zygotes, renderers, GPU, utilities)."""
        parents = _process_parents()
        root = self._root(parents)
        return [] if root is None else sorted([root, *descendants(root, parents)])

    def _root(self, parents: dict[int, int]) -> int | None:
        # Zygotes start with a clean environment, so only the browser process has the marker.
        token = f"{MARKER_ENV}={self.marker}".encode()
        if self._root_pid in parents and _has_marker(self._root_pid, token):
            return self._root_pid
        marked = {pid for pid in parents if _has_marker(pid, token)}
        roots = sorted(pid for pid in marked if parents[pid] not in marked)
        self._root_pid = roots[0] if roots else None
        return self._root_pid

    async def close(self) -> None:
        """Close the browser and the Playwright driver."""
        async with self._lock:
            browser, self._browser = self._browser, None
            playwright, self._playwright = self._playwright, None
        if browser is not None:
            try:
                await browser.close()
            except PlaywrightError as exc:  # already gone: nothing left to close
                log.debug("closing verifier browser: %s", exc)
        if playwright is not None:
            await playwright.stop()
