"""The web UI in real Chromium, against a running `slipstream serve` fed by the local origin.

One browser for the module; a fresh page per test. The main service's origin serves an M3U
of live channels whose response times differ by a fixed delay (so the ranking is known), a
stalling and a dead channel, a page with an embed, and a source that answers 500. A second
service lists two live channels and a curated embed, verifies playback in its own Chromium
(so first frames are measured) and runs once, so its list holds still while a test kills
channels at the origin.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from browser_support import require_browser
from playwright.async_api import Browser, Page, async_playwright, expect

from origin import TestOrigin
from slipstream.playback import find_browser

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio"]
# Channel paths: ~id makes each URL distinct (so one can be killed); ~delay fixes the ranking.
CHANNELS = {
    "a": ("F1 Race: Main feed", "/~id=web-a/live/master.m3u8"),
    "b": ("F1 Qualifying: Onboard", "/~delay=150/~id=web-b/live/master.m3u8"),
    "stall": ("DTM Race: stalling feed", "/~delay=300/web-ui/stall.m3u8"),
    "c": ("MotoGP Race: World feed", "/~delay=450/~id=web-c/live/master.m3u8"),
    "dead": ("Formula 2 Sprint: dead feed", "/~id=web-dead/broken/ts360/index.m3u8"),
}
EMBED_TITLE = "Pit lane camera"
# The second service's channels, in rank order, and its curated (trusted) embed.
PAIR = {
    "x": ("WRC Rally Finland: Stage feed", "/~id=web-x/live/master.m3u8"),
    "y": ("IndyCar Race: Pit feed", "/~delay=150/~id=web-y/live/master.m3u8"),
}
PAIR_EMBED = "Service park camera"
EMBED_SANDBOX = "allow-scripts allow-same-origin allow-presentation"
FRAMES = "() => document.querySelector('#screen video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0"
# Keeps every text the notice shows (a notice can be replaced by the next within a second)
# and whether the player ever mounted an embed.
RECORD = """() => {
    const notice = document.getElementById('notice'), screen = document.getElementById('screen');
    window.notices = [];
    window.embedded = false;
    new MutationObserver(() => window.notices.push(notice.textContent))
        .observe(notice, { childList: true, characterData: true, subtree: true });
    new MutationObserver(() => { window.embedded ||= !!screen.querySelector('iframe'); })
        .observe(screen, { childList: true, subtree: true });
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _wait_for(check: Any, what: str, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.2)  # polling a subprocess with a deadline; nothing to wait on instead
    raise AssertionError(f"timed out waiting for {what}")


def _stalling_playlist(origin: TestOrigin) -> str:
    """A live media playlist that never advances: two segments play, then the picture stalls."""
    segments = [f"#EXTINF:2.0,\n{origin.url(f'/~id=web-stall/live/ts360/{k}.ts')}" for k in (0, 1)]
    return "\n".join(["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2",
                      "#EXT-X-MEDIA-SEQUENCE:0", *segments]) + "\n"


def _iptv_source(origin: TestOrigin, path: str, channels: Iterable[tuple[str, str]], attrs: str = "") -> str:
    """An M3U of `channels` (title, origin path) served at `path`, as the `iptv` [[sources]] table."""
    lines = ["#EXTM3U"]
    for title, channel in channels:
        lines += [f"#EXTINF:-1{attrs},{title}", origin.url(channel)]
    m3u = origin.serve_text(path, "\n".join(lines) + "\n", "audio/x-mpegurl")
    return f'''
[[sources]]
type = "m3u"
key = "iptv"
name = "Test IPTV"
url = "{m3u}"
'''


def _sources(origin: TestOrigin) -> str:
    origin.serve_text("/web-ui/stall.m3u8", _stalling_playlist(origin), "application/vnd.apple.mpegurl")
    iptv = _iptv_source(origin, "/web-ui/channels.m3u", CHANNELS.values(), ' group-title="Motorsport"')
    embed = origin.serve_text("/web-ui/embed.html", "<!doctype html><title>Pit lane</title><h1>Pit lane</h1>",
                              "text/html")
    page = origin.serve_text("/web-ui/page.html", f'<!doctype html><title>{EMBED_TITLE}</title>'
                             f'<iframe src="{embed}" title="{EMBED_TITLE}"></iframe>', "text/html")
    broken = origin.url("/~status=500/web-ui/missing.m3u")
    return f"""{iptv}
[[sources]]
type = "page"
key = "pages"
name = "Test pages"
pages = ["{page}"]

[[sources]]
type = "m3u"
key = "broken"
name = "Broken list"
url = "{broken}"
"""


def _pair_sources(origin: TestOrigin) -> str:
    iptv = _iptv_source(origin, "/web-pair/channels.m3u", PAIR.values())
    embed = origin.serve_text("/web-pair/embed.html", "<!doctype html><title>Service park</title>",
                              "text/html")
    return f"""{iptv}
[[sources]]
type = "curated"
key = "picks"
name = "Curated picks"
streams = [{{ title = "{PAIR_EMBED}", embed_url = "{embed}" }}]
"""


def _serve(tmp: Path, sources: str, streams: int, *, extract_every: str, verify: bool) -> Iterator[str]:
    """`slipstream serve` in a subprocess, once its first run has found `streams` live streams."""
    port = _free_port()
    config = tmp / "slipstream.toml"
    config.write_text(f"""
[server]
port = {port}
[store]
kind = "memory"
data_dir = "{tmp}"
[schedule]
extract_every = "{extract_every}"
[health]
stale_check = false
timeout = "5s"
[verify]
enabled = {str(verify).lower()}
[proxy]
allow_private_upstreams = true
{sources}""")
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "slipstream", "serve", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: proc.poll() is None and len(_get(base + "/streams")) >= streams,
                  f"the service's first run (log: {tmp / 'serve.log'})", timeout=60 if verify else 40)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def ui_service(origin: TestOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The main service: checks every 4 s, no verifier."""
    yield from _serve(tmp_path_factory.mktemp("web-ui"), _sources(origin), 5, extract_every="4s",
                      verify=False)


@pytest.fixture(scope="module")
def pair_service(origin: TestOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The second service: verified by its own browser, one run only (the next is an hour away)."""
    require_browser()
    yield from _serve(tmp_path_factory.mktemp("web-pair"), _pair_sources(origin), 3, extract_every="1h",
                      verify=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = find_browser("")
    if executable is None:
        pytest.skip("no Chromium found")
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=executable, args=FLAGS)
        yield chromium
        await chromium.close()


async def _open(browser: Browser, base: str) -> AsyncIterator[Page]:
    """The UI at laptop size, refreshing its list every second; fails on CSP violations."""
    context = await browser.new_context(viewport={"width": 1366, "height": 820})
    page = await context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    await page.goto(base + "/?poll=1")
    yield page
    await context.close()
    assert not refused, refused


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, ui_service: str) -> AsyncIterator[Page]:
    """The UI of the main service."""
    async for opened in _open(browser, ui_service):
        yield opened


@pytest_asyncio.fixture(loop_scope="module")
async def pair_page(browser: Browser, pair_service: str) -> AsyncIterator[Page]:
    """The UI of the second service, recording its notices (see RECORD)."""
    async for opened in _open(browser, pair_service):
        await opened.evaluate(RECORD)
        yield opened


def ranked(base: str) -> list[dict[str, Any]]:
    return list(_get(base + "/streams"))


def by_title(base: str, title: str) -> dict[str, Any]:
    return next(s for s in ranked(base) if s["title"] == title)


def entry(page: Page, stream_id: str) -> Any:
    return page.locator(f'#stream-list button[data-id="{stream_id}"]')


async def shown_titles(page: Page) -> list[str]:
    return await page.locator("#stream-list .title").all_text_contents()


def ms(value: float) -> str:
    """A time as the page writes it (format.js `ms`; Math.round rounds halves up)."""
    return f"{value / 1000:.1f} s" if value >= 10000 else f"{int(value + 0.5)} ms"


async def refreshed(page: Page, times: int = 1) -> None:
    """Returns once the page has refreshed its list `times` more times.

    Each poll asks /streams, renders, then waits for the next: once a poll has asked, the
    refresh before it has been drawn.
    """
    for _ in range(times + 1):
        async with page.expect_request(lambda r: urlsplit(r.url).path == "/streams", timeout=10_000):
            pass


async def assert_frames_advance(page: Page) -> None:
    """Decoded frames are counted, then counted again higher: the picture moves."""
    await page.wait_for_function(f"() => ({FRAMES})() > 10", timeout=15_000)
    before = await page.evaluate(FRAMES)
    await page.wait_for_function(f"() => ({FRAMES})() > {before + 10}", timeout=15_000)


async def assert_playing(page: Page, stream: dict[str, Any]) -> None:
    await expect(page.locator("#now-playing")).to_have_text(stream["title"])
    await expect(page.locator('#stream-list button[aria-current="true"]')).to_have_count(1)
    await expect(entry(page, stream["id"])).to_have_attribute("aria-current", "true")
    await assert_frames_advance(page)


async def test_list_shows_live_streams_in_rank_order(page: Page, ui_service: str) -> None:
    await expect(page.locator("#stream-list button")).to_have_count(5)
    titles = await shown_titles(page)
    assert titles == [s["title"] for s in ranked(ui_service)]
    # The delays at the origin fix the order; the embed (no response time) comes last.
    assert titles == [CHANNELS[k][0] for k in ("a", "b", "stall", "c")] + [EMBED_TITLE]
    first = page.locator("#stream-list li").first
    for text in ("Test IPTV", "F1", "Race", "resp", "ms", "uptime", "100%", "checked"):
        await expect(first).to_contain_text(text)
    await expect(page.locator("#live-count")).to_have_text("5")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "web-list.png")
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(page.locator("#stream-list button").first).to_be_visible()
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    await page.screenshot(path=ARTIFACTS / "web-phone.png", full_page=True)


async def test_click_plays_through_the_proxy_and_marks_watched(page: Page, ui_service: str) -> None:
    stream = by_title(ui_service, CHANNELS["a"][0])
    await entry(page, stream["id"]).click()
    await assert_playing(page, stream)
    active = _get(ui_service + "/active")
    assert [a["stream_id"] for a in active] == [stream["id"]]
    await expect(page.locator("#notice")).to_be_hidden()
    await page.screenshot(path=ARTIFACTS / "web-player.png")


async def test_keyboard_tab_to_an_entry_and_enter_plays_it(page: Page, ui_service: str) -> None:
    stream = by_title(ui_service, CHANNELS["b"][0])
    await expect(entry(page, stream["id"])).to_be_visible()
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.dataset.id") == stream["id"]:
            break
    else:
        raise AssertionError("Tab never reached the stream's entry")
    await page.keyboard.press("Enter")
    await assert_playing(page, stream)


async def test_filters_by_session_and_series(page: Page, ui_service: str) -> None:
    await expect(page.locator("#stream-list button")).to_have_count(5)
    chip = page.locator("#filters").get_by_text
    await chip("Qualifying", exact=True).click()
    # Tagged streams of other sessions go; untagged ones (the embed) may show anything, so stay.
    await expect(page.locator("#stream-list .title")).to_have_text([CHANNELS["b"][0], EMBED_TITLE])
    await chip("All", exact=True).click()
    await page.select_option("#series-filter", label="MotoGP")
    await expect(page.locator("#stream-list .title")).to_have_text([CHANNELS["c"][0]])
    await chip("Sprint", exact=True).click()
    await expect(page.locator("#stream-list button")).to_have_count(0)
    await expect(page.locator("#empty")).to_have_text("No live stream matches these filters.")


async def test_embed_plays_in_a_sandboxed_iframe(page: Page, ui_service: str) -> None:
    stream = by_title(ui_service, EMBED_TITLE)
    await entry(page, stream["id"]).click()
    frame = page.locator("#screen iframe")
    await expect(frame).to_have_attribute("sandbox", EMBED_SANDBOX)
    await expect(frame).to_have_attribute("src", stream["embed_url"])
    await expect(page.frame_locator("#screen iframe").locator("h1")).to_have_text("Pit lane")
    await expect(page.locator("#now-playing")).to_have_text(EMBED_TITLE)
    await expect(entry(page, stream["id"])).to_have_attribute("aria-current", "true")
    # Another site's player cannot be looked into: the page says it opened it, not that it plays.
    await expect(page.locator("#now-meta")).to_contain_text("Embedded")
    notice = page.locator("#notice")
    await expect(notice).to_contain_text(f"“{EMBED_TITLE}” opened in its site's own player")
    await expect(notice).to_contain_text("cannot tell whether it plays, nor switch to another stream")


async def test_status_view_shows_extractor_errors_and_verifier(page: Page, ui_service: str) -> None:
    await page.get_by_role("link", name="Status").click()
    row = page.locator('#extractor-table tr[data-key="broken"]')
    await expect(row).to_contain_text("Broken list")
    await expect(row.locator("td.error")).to_contain_text("500")
    await expect(page.locator('#extractor-table tr[data-key="iptv"] td.ok')).to_have_text("ok")
    await expect(page.locator("#status-cards")).to_contain_text("Playback verifier")
    await expect(page.locator("#status-cards")).to_contain_text("disabled")
    await expect(page.locator("#status-dot")).to_be_visible()
    await expect(page.locator("#stream-list")).to_be_hidden()
    await page.screenshot(path=ARTIFACTS / "web-status.png")
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(row).to_be_visible()
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    await page.screenshot(path=ARTIFACTS / "web-status-phone.png", full_page=True)


async def test_fallback_when_the_playing_stream_stalls(page: Page, ui_service: str) -> None:
    stalling, next_one = by_title(ui_service, CHANNELS["stall"][0]), by_title(ui_service, CHANNELS["c"][0])
    await entry(page, stalling["id"]).click()
    await assert_playing(page, stalling)
    notice = page.locator("#notice")
    # Two 2 s segments play, then the clock stops: the switch comes once it has stood for 8 s.
    await expect(notice).to_contain_text(next_one["title"], timeout=25_000)
    reason = f"“{stalling['title']}” stopped playing: it stalled for more than 8 s"
    await expect(notice).to_contain_text(reason)
    await expect(entry(page, next_one["id"])).to_have_attribute("aria-current", "true")
    await assert_frames_advance(page)


async def test_fallback_when_the_playing_stream_dies(page: Page, ui_service: str, origin: TestOrigin) -> None:
    dying, next_one = by_title(ui_service, CHANNELS["a"][0]), by_title(ui_service, CHANNELS["b"][0])
    await entry(page, dying["id"]).click()
    await assert_playing(page, dying)
    origin.kill(CHANNELS["a"][1].removesuffix("live/master.m3u8"))
    killed_at = time.monotonic()
    notice = page.locator("#notice")
    await expect(notice).to_contain_text(next_one["title"], timeout=15_000)
    switched_after = time.monotonic() - killed_at
    await expect(notice).to_contain_text(dying["title"])
    await expect(notice).to_have_attribute("role", "status")
    await expect(page.locator("#now-playing")).to_have_text(next_one["title"])
    await expect(entry(page, next_one["id"])).to_have_attribute("aria-current", "true")
    await assert_frames_advance(page)
    assert switched_after < 15, switched_after
    await page.screenshot(path=ARTIFACTS / "web-fallback.png")


async def test_list_refresh_keeps_the_entry_and_its_keyboard_focus(page: Page, ui_service: str) -> None:
    stream = by_title(ui_service, CHANNELS["b"][0])
    button = entry(page, stream["id"])
    await button.focus()
    await button.evaluate("(el) => { window.probe = el; }")
    said = await button.inner_text()
    # "checked … ago" moves on every second: a refresh has changed what the entry says...
    await expect(button).not_to_have_text(said, timeout=10_000)
    await refreshed(page)
    # ...in the same button, which kept the keyboard focus (a rebuilt one would not be `probe`).
    assert await page.evaluate("(id) => document.querySelector(`#stream-list button[data-id='${id}']`) "
                               "=== window.probe", stream["id"])
    assert await page.evaluate("() => document.activeElement === window.probe")
    await page.keyboard.press("Enter")
    await assert_playing(page, stream)


async def test_list_refresh_does_not_interrupt_playback(page: Page, ui_service: str) -> None:
    stream = by_title(ui_service, CHANNELS["c"][0])
    await entry(page, stream["id"]).click()
    await assert_playing(page, stream)
    await page.evaluate("() => { window.probe = document.querySelector('#screen video'); }")
    before = await page.evaluate(FRAMES)
    await refreshed(page, 3)
    # Three refreshes (3 s at least) later: the same video, still counting frames, same stream.
    assert await page.evaluate("() => document.querySelector('#screen video') === window.probe")
    assert await page.evaluate(FRAMES) > before + 30
    await expect(page.locator("#now-playing")).to_have_text(stream["title"])
    await expect(entry(page, stream["id"])).to_have_attribute("aria-current", "true")
    await expect(page.locator("#notice")).to_be_hidden()


async def test_heartbeat_renews_the_watch_while_playing_and_stops_with_it(
        page: Page, ui_service: str) -> None:
    await page.goto(ui_service + "/?poll=1&heartbeat=1")
    stream = by_title(ui_service, CHANNELS["c"][0])
    path = f"/streams/{stream['id']}/watch"
    posts: list[str] = []
    page.on("request",
            lambda r: posts.append(r.url) if r.method == "POST" and urlsplit(r.url).path == path else None)

    def to_watch(method: str) -> Any:
        return lambda r: r.request.method == method and urlsplit(r.url).path == path

    async with page.expect_response(to_watch("POST")) as started:
        await entry(page, stream["id"]).click()
    assert (await started.value).status == 200
    await assert_playing(page, stream)
    for _ in range(2):  # the heartbeat: the watch renewed again and again while it plays
        async with page.expect_response(to_watch("POST"), timeout=5_000) as beat:
            pass
        assert (await beat.value).status == 200
        assert stream["id"] in [a["stream_id"] for a in _get(ui_service + "/active")]
    async with page.expect_response(to_watch("DELETE")) as stopped:
        await page.locator("#stop").click()
    assert (await stopped.value).status == 204
    assert stream["id"] not in [a["stream_id"] for a in _get(ui_service + "/active")]
    renewed = len(posts)
    await refreshed(page, 3)  # 3 s at least: a heartbeat left running would have renewed it
    assert posts[renewed:] == []
    assert stream["id"] not in [a["stream_id"] for a in _get(ui_service + "/active")]


async def test_list_shows_time_to_first_frame(pair_page: Page, pair_service: str) -> None:
    first_frame = "#stream-list button[data-id='{}'] .stat:has(.label:text-is('1st frame')) > :not(.label)"
    for key in PAIR:
        stream = by_title(pair_service, PAIR[key][0])
        assert stream["first_frame_ms"], stream  # the service's own browser saw it play
        shown = pair_page.locator(first_frame.format(stream["id"]))
        await expect(shown).to_have_text(ms(stream["first_frame_ms"]))
    embed = by_title(pair_service, PAIR_EMBED)  # trusted: never played by the verifier
    assert embed["first_frame_ms"] is None
    await expect(pair_page.locator(first_frame.format(embed["id"]))).to_have_text("—")


async def test_fallback_never_switches_to_an_embed(
        pair_page: Page, pair_service: str, origin: TestOrigin) -> None:
    x, y = (by_title(pair_service, PAIR[k][0]) for k in ("x", "y"))
    embed = by_title(pair_service, PAIR_EMBED)
    assert [s["title"] for s in ranked(pair_service)][0] == PAIR_EMBED  # trusted: ranked first
    await entry(pair_page, x["id"]).click()
    await assert_playing(pair_page, x)
    for key in PAIR:
        origin.kill(PAIR[key][1].removesuffix("live/master.m3u8"))
    # x dies, y (dead too) is tried, and then the page gives up rather than claim the embed plays.
    await pair_page.wait_for_function(
        "(title) => window.embedded || window.notices.some((n) => n.startsWith(`“${title}” stopped playing`)"
        " && n.includes('No other live stream left to try'))", arg=y["title"], timeout=30_000)
    notices = await pair_page.evaluate("window.notices")
    assert not await pair_page.evaluate("window.embedded"), notices
    assert not any(PAIR_EMBED in n for n in notices), notices
    assert any(f"Switched to “{y['title']}”" in n for n in notices), notices
    assert any("Embedded players are never switched to by themselves" in n for n in notices), notices
    await expect(entry(pair_page, embed["id"])).not_to_have_attribute("aria-current", "true")


async def test_after_the_last_stream_fails_the_page_starts_over_from_the_top(
        pair_page: Page, pair_service: str, origin: TestOrigin) -> None:
    x, y = (by_title(pair_service, PAIR[k][0]) for k in ("x", "y"))
    prefix = {key: path.removesuffix("live/master.m3u8") for key, (_, path) in PAIR.items()}
    await entry(pair_page, x["id"]).click()
    await assert_playing(pair_page, x)
    origin.kill(prefix["x"])
    notice = pair_page.locator("#notice")
    await expect(notice).to_contain_text(f"Switched to “{y['title']}”", timeout=15_000)
    await assert_playing(pair_page, y)
    # x is back at the origin but failed in this round: when y dies too, nothing is left to try...
    origin.revive(prefix["x"])
    origin.kill(prefix["y"])
    # ...until the list refreshes: then the page starts over at the top (of what it can monitor).
    again = f"Starting over from the top of the refreshed list with “{x['title']}”."
    await expect(notice).to_have_text(again, timeout=20_000)
    await assert_playing(pair_page, x)
    notices = await pair_page.evaluate("window.notices")
    gave_up = [i for i, n in enumerate(notices) if n.startswith(f"“{y['title']}” stopped playing")]
    assert gave_up and "No other live stream left to try" in notices[gave_up[0]], notices
    assert any(n.startswith("Starting over") for n in notices[gave_up[0]:]), notices


async def test_fallback_order_never_repeats_a_failed_stream(page: Page) -> None:
    """The page's own choice of the next stream: down the ranking, then untried ones above, then none."""
    result = await page.evaluate("""async () => {
        const { nextStream } = await import('/web/fallback.js');
        const order = ['s1', 's2', 's3', 's4'].map((id) => ({ id }));
        const pick = (current, failed) => nextStream(order, current, new Set(failed))?.id ?? null;
        return [pick('s2', ['s2']), pick('s4', ['s2', 's4']), pick('s1', ['s1', 's3', 's4']),
                pick('s3', ['s1', 's2', 's3', 's4']), pick('gone', ['s1'])];
    }""")
    assert result == ["s3", "s1", "s2", None, "s2"]
