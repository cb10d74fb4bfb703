"""Finding the verifier's Chromium and the hls.js it plays streams with."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome")
HLS_JS_RELPATH = Path("node_modules/hls.js/dist/hls.min.js")
# Playwright's folders, in order of preference: a full Chromium before the stripped-down
# headless shell; within each, the newest build number first.
_PLAYWRIGHT_BUILDS = (("chromium", "chrome-linux*/chrome"),
                      ("chromium_headless_shell", "chrome-linux*/headless_shell"))


def _build_number(folder: Path) -> int:
    version = folder.name.rsplit("-", 1)[-1]
    return int(version) if version.isdigit() else -1


def _playwright_browsers() -> list[Path]:
    """Chromium builds Playwright downloaded itself: full builds before headless shells, newest first."""
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or "~/.cache/ms-playwright")
    root = root.expanduser()
    found: list[Path] = []
    for kind, executable in _PLAYWRIGHT_BUILDS:
        # The name's text would rank chromium-999 above chromium-1200: sort by the number.
        folders = sorted(root.glob(f"{kind}-*"), key=_build_number, reverse=True)
        found += [exe for folder in folders for exe in sorted(folder.glob(executable))]
    return found


def find_browser(configured: str = "") -> str | None:
    """The Chromium to use: the configured path, the usual system names, then Playwright's own."""
    if configured:
        path = shutil.which(configured) or (configured if Path(configured).is_file() else None)
        if path is None:
            log.warning("configured browser %s not found; looking elsewhere", configured)
        else:
            return path
    for name in SYSTEM_BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    own = [p for p in _playwright_browsers() if os.access(p, os.X_OK)]
    return str(own[0]) if own else None


def find_hls_js(start: Path | None = None) -> Path | None:
    """hls.min.js from the nearest node_modules above `start` (default: this package), or None."""
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        candidate = folder / HLS_JS_RELPATH
        if candidate.is_file():
            return candidate
    cwd_candidate = Path.cwd() / HLS_JS_RELPATH
    return cwd_candidate if cwd_candidate.is_file() else None
