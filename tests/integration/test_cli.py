"""The `slipstream` command as a user runs it: check, extract, and refusals at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from origin import REFERER, TestOrigin
from runner import Service, free_port, run_cli

ALLOW = {"SLIPSTREAM_PROXY__ALLOW_PRIVATE_UPSTREAMS": "true", "SLIPSTREAM_HEALTH__TIMEOUT": "2s"}
FIELDS = {"url", "is_live", "reason", "response_time_ms", "bitrate"}


def check(tmp_path: Path, *args: str, **env: str) -> tuple[int, list[dict[str, object]], str]:
    result = run_cli(["check", "--json", *args], tmp_path, **{**ALLOW, **env})
    rows = json.loads(result.stdout) if result.stdout.strip() else []
    return result.returncode, rows, result.stderr


def test_check_a_live_stream(origin: TestOrigin, tmp_path: Path) -> None:
    code, rows, _ = check(tmp_path, origin.url("/live/master.m3u8"))
    assert code == 0
    [row] = rows
    assert set(row) == FIELDS
    assert row["is_live"] is True and row["reason"] == "ok"
    assert isinstance(row["bitrate"], int) and row["bitrate"] > 100_000
    assert isinstance(row["response_time_ms"], float)


@pytest.mark.parametrize(("path", "reason"), [
    ("/vod/ts360/index.m3u8", "vod"),
    ("/~stale/live/ts360/index.m3u8", "stale"),
    ("/~seg404/live/ts360/index.m3u8", "segment http 404"),
    ("/~garbage/live/ts360/index.m3u8", "segment not media"),
    ("/~html/live/ts360/index.m3u8", "not a playlist"),
    ("/~delay=4000/live/ts360/index.m3u8", "timeout"),
    ("/huge/50.m3u8", "playlist too large"),
    ("/~loop/live/ts360/index.m3u8", "too many redirects"),
    ("/~referer/live/ts360/index.m3u8", "http 403"),
    ("/~status=500/live/ts360/index.m3u8", "http 500"),
])
def test_check_reports_each_fault(origin: TestOrigin, tmp_path: Path, path: str, reason: str) -> None:
    code, rows, _ = check(tmp_path, origin.url(path))
    assert code == 1
    assert rows[0]["is_live"] is False and rows[0]["reason"] == reason


def test_check_many_urls_one_verdict_each(origin: TestOrigin, tmp_path: Path) -> None:
    urls = [origin.url("/live/ts360/index.m3u8"), origin.url("/vod/ts360/index.m3u8"),
            f"http://127.0.0.1:{free_port()}/closed.m3u8"]
    code, rows, _ = check(tmp_path, *urls)
    assert code == 1
    assert [r["url"] for r in rows] == urls
    assert [r["reason"] for r in rows] == ["ok", "vod", "connection failed: refused"]


def test_check_sends_given_headers(origin: TestOrigin, tmp_path: Path) -> None:
    url = origin.url("/~referer/live/ts360/index.m3u8")
    code, rows, _ = check(tmp_path, url, "--header", f"Referer: {REFERER}")
    assert code == 0 and rows[0]["reason"] == "ok"


def test_check_refuses_private_addresses_unless_allowed(origin: TestOrigin, tmp_path: Path) -> None:
    result = run_cli(["check", "--json", origin.url("/live/ts360/index.m3u8")], tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["reason"] == "private address refused"


@pytest.mark.parametrize("args", [["check"], ["check", "--header", "no-colon", "http://x.invalid/a.m3u8"],
                                  ["check", "--bogus", "http://x.invalid/a.m3u8"]])
def test_check_bad_usage_exits_2(tmp_path: Path, args: list[str]) -> None:
    result = run_cli(args, tmp_path)
    assert result.returncode == 2, result.stderr


def test_check_table_output(origin: TestOrigin, tmp_path: Path) -> None:
    result = run_cli(["check", origin.url("/vod/ts360/index.m3u8")], tmp_path, **ALLOW)
    assert result.returncode == 1
    assert "vod" in result.stdout and "reason" in result.stdout


def write_config(tmp_path: Path, origin: TestOrigin) -> Path:
    m3u = origin.serve_text("/lists/cli.m3u", "#EXTM3U\n"
                            f"#EXTINF:-1,F1 Sprint feed\n{origin.url('/live/ts360/index.m3u8')}\n"
                            f"#EXTINF:-1,Old replay\n{origin.url('/vod/ts234/index.m3u8')}\n")
    path = tmp_path / "slipstream.toml"
    path.write_text(f"""
[verify]
enabled = false
[proxy]
allow_private_upstreams = true
[[sources]]
type = "m3u"
key = "cli"
name = "CLI list"
url = "{m3u}"
[[sources]]
type = "raiser"
key = "bad"
""")
    return path


def test_extract_json_prints_every_stream(origin: TestOrigin, tmp_path: Path) -> None:
    result = run_cli(["extract", "--json", "--config", str(write_config(tmp_path, origin))], tmp_path)
    assert result.returncode == 0, result.stderr
    streams = json.loads(result.stdout)
    assert [(s["title"], s["is_live"], s["reason"]) for s in streams] == [
        ("F1 Sprint feed", True, "ok"), ("Old replay", False, "vod")]
    assert streams[0]["series"] == "f1" and streams[0]["session_type"] == "sprint"


def test_extract_prints_a_table_and_the_failed_extractor(origin: TestOrigin, tmp_path: Path) -> None:
    result = run_cli(["extract", "--config", str(write_config(tmp_path, origin))], tmp_path, COLUMNS="200")
    assert result.returncode == 0, result.stderr
    assert "F1 Sprint feed" in result.stdout and "1 live of 2 streams" in result.stdout
    assert "extractor bad failed" in result.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ("[server]\nport = 'eighty'\n", "server.port"),
    ("[[sources]]\ntype = 'm3u'\nkey = 'x'\n", "sources[0]"),
    ("[[sources]]\ntype = 'nonesuch'\nkey = 'x'\n", "sources[0].type"),
    ("[schedule]\nextract_every = 'often'\n", "schedule.extract_every"),
])
def test_serve_refuses_a_bad_config_naming_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = run_cli(["serve", "--config", str(path), "--port", str(free_port())], tmp_path, timeout=30)
    assert result.returncode == 2
    assert str(path) in result.stderr and expected in result.stderr


def test_serve_beyond_loopback_needs_an_api_key(tmp_path: Path) -> None:
    result = run_cli(["serve", "--host", "0.0.0.0", "--port", str(free_port())], tmp_path, timeout=30)
    assert result.returncode == 2
    assert "api_key" in result.stderr and "beyond loopback" in result.stderr


def test_admin_routes_need_the_key_in_a_header(tmp_path: Path) -> None:
    path = tmp_path / "slipstream.toml"
    path.write_text('[server]\napi_key = "s3cret-key"\naccess_log = true\n[verify]\nenabled = false\n'
                    '[schedule]\nextract_every = "1h"\n')
    svc = Service(path, tmp_path / "data").start()
    try:
        assert svc.get("/streams")[0] == 200
        assert svc.get("/streams/all")[0] == 401
        assert svc.get("/streams/all", {"Authorization": "Bearer wrong"})[0] == 401
        assert svc.get("/streams/all?api_key=s3cret-key")[0] == 401
        assert svc.get("/streams/all", {"Authorization": "Bearer s3cret-key"})[0] == 200
        assert svc.get("/streams/all", {"X-API-Key": "s3cret-key"})[0] == 200
        assert svc.get("/active")[0] == 401
        assert svc.request("POST", "/extract")[0] == 401
        assert svc.request("POST", "/extract", {"X-API-Key": "s3cret-key"})[0] == 202
        log = svc.log()
        assert '"GET /streams/all HTTP/1.1" 401' in log  # the access line is written, its query cut
        assert "s3cret-key" not in log
    finally:
        svc.stop()
