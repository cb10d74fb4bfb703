"""Response models (for validation of shape in tests and for the OpenAPI docs)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StreamPublic(BaseModel):
    """A stream as clients see it (upstream headers are never sent)."""

    id: str
    url: str
    embed_url: str | None
    stream_type: str
    site_key: str
    site_name: str
    title: str
    quality: str | None
    series: str | None
    session_type: str | None
    group: str | None
    logo: str | None
    tvg_id: str | None
    is_live: bool
    reason: str | None
    response_time_ms: float | None
    bitrate: int | None
    first_frame_ms: float | None
    uptime: float | None
    checked_at: str | None


class ExtractorInfo(BaseModel):
    site_key: str
    site_name: str
    cached_streams: int
    live_streams: int
    last_error: str | None
    last_duration_s: float | None
    last_run: str | None


class VerifierInfo(BaseModel):
    enabled: bool
    reason: str | None


class ExtractorStatus(BaseModel):
    """The `/extractors` body."""

    extractors: list[ExtractorInfo]
    total_cached_streams: int
    total_live_streams: int
    last_run: str | None
    last_run_stream_count: int
    last_run_duration_s: float | None
    last_run_errors: dict[str, str]
    running: bool
    runs_completed: int = Field(description="runs finished since the service started")
    verifier: VerifierInfo


class RunTriggered(BaseModel):
    status: str


class ErrorBody(BaseModel):
    error: str
    detail: str
