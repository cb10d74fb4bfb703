"""Dependencies shared by the routers."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from slipstream.config import Settings
from slipstream.runtime import Runtime
from slipstream.service import ExtractionService


def get_runtime(request: Request) -> Runtime:
    """The runtime the lifespan opened."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_service(request: Request) -> ExtractionService:
    """The extraction service."""
    return get_runtime(request).service


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def require_admin(request: Request) -> None:
    """Admin routes need the API key when one is configured (always, beyond loopback).

    The key is read from `Authorization: Bearer` or `X-API-Key`, never the query string.
    """
    key = get_settings(request).server.api_key
    if not key:
        return
    presented = _presented_key(request)
    if presented is None or not hmac.compare_digest(presented.encode(), key.encode()):
        raise HTTPException(
            status_code=401, detail="admin route: send the API key as Authorization: Bearer <key>",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServiceDep = Annotated[ExtractionService, Depends(get_service)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Admin = Depends(require_admin)
