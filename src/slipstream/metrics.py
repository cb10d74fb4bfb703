"""Prometheus metrics, one registry per app (no module-level state, so every test app has its own)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_FRAME_BUCKETS = (0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 12, 20)
_RUN_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


def reason_label(reason: str | None) -> str:
    """A bounded label from a reason string: `http 403` stays, `connection failed: x` is cut."""
    if not reason:
        return "none"
    head = reason.split(":", 1)[0].split(" (", 1)[0]
    return head[:40]


class _Watched(Collector):
    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count

    def collect(self) -> list[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("slipstream_watched_streams", "Streams being watched through the proxy")
        gauge.add_metric([], self.count())
        return [gauge]


class Metrics:
    """The service's counters, gauges and histograms."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.runs = Counter("slipstream_extractor_runs", "Extractor runs", ["site_key", "outcome"],
                            registry=r)
        self.run_seconds = Histogram("slipstream_extractor_run_seconds", "Extractor run duration",
                                     ["site_key"], buckets=_RUN_BUCKETS, registry=r)
        self.streams = Gauge("slipstream_streams", "Streams cached after the last run",
                             ["site_key", "state"], registry=r)
        self.health_seconds = Histogram("slipstream_health_playlist_seconds",
                                        "Time to fetch the first playlist in a health check",
                                        buckets=_LATENCY_BUCKETS, registry=r)
        self.health = Counter("slipstream_health_checks", "Health checks by result", ["reason"], registry=r)
        self.verify = Counter("slipstream_verifications", "Playback verifications by outcome",
                              ["outcome", "reason"], registry=r)
        self.first_frame = Histogram("slipstream_first_frame_seconds", "Verifier time to first frame",
                                     buckets=_FRAME_BUCKETS, registry=r)
        self.proxy_requests = Counter("slipstream_proxy_requests", "Proxy requests", ["kind", "status"],
                                      registry=r)
        self.proxy_bytes = Counter("slipstream_proxy_bytes", "Bytes streamed to players", registry=r)
        self.upstream_errors = Counter("slipstream_proxy_upstream_errors",
                                       "Upstream errors seen by the proxy", ["status"], registry=r)
        self.refreshes = Counter("slipstream_token_refreshes", "Token refreshes by outcome", ["outcome"],
                                 registry=r)

    def watch_count(self, count: Callable[[], int]) -> None:
        """Report the number of watched streams at each scrape."""
        self.registry.register(_Watched(count))

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
