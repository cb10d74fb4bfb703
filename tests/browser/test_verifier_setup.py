"""Finding the browser and hls.js, and a verifier that is unavailable rather than broken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from slipstream.config import VerifySettings
from slipstream.models import Verdict
from slipstream.playback import PlaybackVerifier, find_browser, find_hls_js
from slipstream.playback.forward import absolutize
from slipstream.playback.locate import _playwright_browsers


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 1\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_browsers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH and a Playwright browser folder with nothing in them."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "ms-playwright"))
    return tmp_path


def test_configured_browser_wins_over_the_system_one(tmp_path: Path) -> None:
    mine = executable(tmp_path / "my-chromium")
    assert find_browser(str(mine)) == str(mine)


def test_system_browser_is_found_on_path() -> None:
    system = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                   if shutil.which(n)), None)
    if system is None:
        pytest.skip("no system Chromium on PATH")
    assert find_browser("") == system
    assert find_browser("/nowhere/chrome") == system  # a bad configured path falls back


def test_playwrights_own_browser_is_the_last_resort(no_browsers: Path) -> None:
    assert find_browser("") is None
    own = executable(no_browsers / "ms-playwright" / "chromium-1200" / "chrome-linux" / "chrome")
    assert find_browser("") == str(own)


def test_playwrights_newest_full_chromium_beats_older_ones_and_headless_shells(
    no_browsers: Path,
) -> None:
    root = no_browsers / "ms-playwright"
    shell = executable(root / "chromium_headless_shell-1300" / "chrome-linux" / "headless_shell")
    assert find_browser("") == str(shell)  # a headless shell still beats nothing
    executable(root / "chromium-999" / "chrome-linux" / "chrome")
    newest = executable(root / "chromium-1200" / "chrome-linux64" / "chrome")
    executable(root / "chromium-1100" / "chrome-linux" / "chrome")
    # As text, "chromium-999" sorts above "chromium-1200", and "chromium_" above "chromium-".
    assert find_browser("") == str(newest)
    assert [p.parent.parent.name for p in _playwright_browsers()] == [
        "chromium-1200", "chromium-1100", "chromium-999", "chromium_headless_shell-1300"]


async def test_no_browser_makes_the_verifier_unavailable(no_browsers: Path) -> None:
    verifier = PlaybackVerifier(VerifySettings())
    assert (verifier.available, verifier.unavailable_reason) == (False, "no browser found")
    url = "http://127.0.0.1:9/live.m3u8"
    assert await verifier.verify(url) == Verdict(url, False, None, "not verified: no browser found")
    await verifier.close()


async def test_disabled_verifier_checks_nothing() -> None:
    verifier = PlaybackVerifier(VerifySettings(enabled=False))
    assert (verifier.available, verifier.unavailable_reason) == (False, "disabled in config")
    ticks: list[Verdict] = []
    urls = ["http://127.0.0.1:9/a.m3u8", "http://127.0.0.1:9/b.m3u8"]
    assert await verifier.verify_many([(u, {}, "hls") for u in urls], ticks.append) == {}
    assert [t.url for t in ticks] == urls  # progress still counts every item
    assert verifier.host is None


def test_missing_hls_js_makes_the_verifier_unavailable(tmp_path: Path) -> None:
    if find_browser("") is None:
        pytest.skip("no Chromium found: the browser reason would come first")
    verifier = PlaybackVerifier(VerifySettings(), hls_js=tmp_path / "hls.min.js")
    assert verifier.unavailable_reason == "hls.js not installed (run make install)"
    assert not verifier.available


def test_hls_js_is_found_from_the_package_or_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_hls_js(tmp_path) is None
    installed = tmp_path / "node_modules" / "hls.js" / "dist" / "hls.min.js"
    installed.parent.mkdir(parents=True)
    installed.write_text("/* hls.js */")
    assert find_hls_js(tmp_path / "src" / "pkg") == installed
    assert find_hls_js(Path("/")) == installed  # from the working directory


def test_playlist_uris_are_made_absolute_against_the_final_url() -> None:
    playlist = (b'#EXTM3U\r\n#EXT-X-KEY:METHOD=AES-128,URI="k/key.key",IV=0x01\r\n'
                b'#EXT-X-MAP:URI="/init.mp4"\r\n#EXTINF:2.0,\r\nseg/1.ts?t=1\r\n'
                b"#EXTINF:2.0,\r\nhttps://cdn.example/2.ts\r\n")
    assert absolutize(playlist, "http://edge.example/a/b/index.m3u8") == (
        b'#EXTM3U\r\n#EXT-X-KEY:METHOD=AES-128,URI="http://edge.example/a/b/k/key.key",IV=0x01\r\n'
        b'#EXT-X-MAP:URI="http://edge.example/init.mp4"\r\n#EXTINF:2.0,\r\n'
        b"http://edge.example/a/b/seg/1.ts?t=1\r\n#EXTINF:2.0,\r\nhttps://cdn.example/2.ts\r\n")
