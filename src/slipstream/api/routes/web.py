"""The web UI: `/`, its static modules under `/web/`, and hls.js from the npm install."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

router = APIRouter(tags=["web"], include_in_schema=False)
log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# Only plain file names of the UI's own kinds: no paths, so nothing outside WEB_DIR is reachable.
_ASSET = re.compile(r"^[a-z][a-z0-9_-]*\.(js|css|svg)$")
_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}
# The page loads only its own files; hls.js needs blob: for its worker and for MediaSource;
# embeds come from anywhere but run sandboxed (see the iframe's sandbox attribute).
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "frame-src http: https:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
])
# The UI is small and changes with the package: let browsers revalidate rather than guess.
NO_CACHE = {"Cache-Control": "no-cache"}


def hls_js_path() -> Path | None:
    """hls.min.js from node_modules (as the playback verifier finds it), or None."""
    # Imported here: the playback package pulls in Playwright, which the rest of the UI does not need.
    from slipstream.playback.locate import find_hls_js

    return find_hls_js()


@router.get("/")
async def index() -> FileResponse:
    """The web UI."""
    headers = {**NO_CACHE, "Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer"}
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8", headers=headers)


@router.get("/web/hls.min.js")
async def hls_js() -> FileResponse:
    """hls.js as npm installed it; never from a CDN."""
    path = hls_js_path()
    if path is None:
        log.warning("hls.js not found: run `make install` (npm ci) so the web player can play HLS")
        raise HTTPException(404, "hls.js is not installed: run `make install` (npm ci)")
    return FileResponse(path, media_type=_TYPES["js"], headers=NO_CACHE)


@router.get("/web/{name}")
async def asset(name: str) -> FileResponse:
    """One of the UI's own modules or stylesheets."""
    match = _ASSET.match(name)
    path = WEB_DIR / name
    if match is None or not path.is_file():
        raise HTTPException(404, f"no such web asset: {name}")
    return FileResponse(path, media_type=_TYPES[match.group(1)], headers=NO_CACHE)
