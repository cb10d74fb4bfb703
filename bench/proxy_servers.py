"""The servers bench/proxy.py runs: a static origin, and the three proxies it compares.

Every server is a child process of the benchmark on 127.0.0.1, stopped when its
context exits. CPU is read from /proc for the processes that move the bytes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
SEGMENT_S = 2.0
SEGMENT_BYTES = 1_500_000       # 6 Mbit/s at 2 s a segment
SEGMENTS = 8
SECRET = "bench-proxy-secret-0123456789abcdef"
MEDIAFLOW = ROOT / "bench" / ".tools" / "mediaflow"
NGINX_TUNING = "proxy_buffer_size 256k; proxy_buffers 16 256k; proxy_max_temp_file_size 0;"


@dataclass
class Proxy:
    """A proxy under test: how to address segment k through it, and which processes to bill."""

    name: str
    url_for: Callable[[str], str]      # upstream URL -> URL through the proxy
    origin: str
    pids: Callable[[], list[int]]

    def urls(self, viewer: int, count: int) -> list[str]:
        """One viewer's segment URLs, each unique so no cache can answer."""
        return [self.url_for(f"{self.origin}/seg{(viewer + k) % SEGMENTS}.ts?v={viewer}&k={k}")
                for k in range(count)]


def free_port() -> int:
    """A free port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_cpu(pids: list[int]) -> float:
    """utime+stime (seconds) of these processes, their threads included."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Direct children of a process (nginx workers)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def make_media(folder: Path) -> Path:
    """Random-byte .ts segments (a proxy never looks inside) and a playlist listing them."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(SEGMENTS):
        seg = folder / f"seg{k}.ts"
        if not seg.is_file() or seg.stat().st_size != SEGMENT_BYTES:
            seg.write_bytes(os.urandom(SEGMENT_BYTES))
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines += [f"#EXTINF:2.0,\nseg{k}.ts" for k in range(SEGMENTS)]
    (folder / "index.m3u8").write_text("\n".join(lines) + "\n#EXT-X-ENDLIST\n")
    return folder


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll `url` until it answers below 500; fail if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f}s")


@contextmanager
def running(cmd: list[str], log: Path, ready_url: str, env: dict[str, str] | None = None,
            ) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, ready once `ready_url` answers; terminated on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})})
    try:
        wait_http(ready_url, proc)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


def _nginx_conf(folder: Path, name: str, http_body: str) -> Path:
    conf = folder / f"nginx-{name}.conf"
    conf.write_text(f"""worker_processes 1;
user root;
pid {folder}/nginx-{name}.pid;
error_log {folder}/nginx-{name}-error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  {http_body}
}}
""")
    return conf


@contextmanager
def _nginx(folder: Path, name: str, port: int, http_body: str) -> Iterator[subprocess.Popen[bytes]]:
    conf = _nginx_conf(folder, name, http_body)
    (folder / f"nginx-{name}").mkdir(exist_ok=True)
    cmd = ["nginx", "-p", str(folder / f"nginx-{name}"), "-c", str(conf), "-e", "stderr",
           "-g", "daemon off;"]
    with running(cmd, folder / f"nginx-{name}.log", f"http://127.0.0.1:{port}/") as proc:
        yield proc


@contextmanager
def nginx_origin(folder: Path, media: Path, port: int) -> Iterator[str]:
    """The static origin: nginx, one worker, sendfile."""
    body = (f"sendfile on; tcp_nopush on; default_type video/mp2t;\n"
            f"  server {{ listen 127.0.0.1:{port}; root {media}; location / {{ }} }}")
    with _nginx(folder, "origin", port, body):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def nginx_proxy(folder: Path, origin: str, port: int) -> Iterator[Proxy]:
    """nginx proxy_pass, one worker, tuned for large bodies, keep-alive to the origin."""
    body = (f"upstream origin {{ server {origin.removeprefix('http://')}; keepalive 256; }}\n"
            f"  server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://origin; "
            f'proxy_http_version 1.1; proxy_set_header Connection ""; {NGINX_TUNING} }} }}')
    with _nginx(folder, "proxy", port, body) as proc:
        base = f"http://127.0.0.1:{port}"
        yield Proxy("nginx", lambda url: base + url.removeprefix(origin), origin,
                    lambda: [proc.pid, *children(proc.pid)])


@contextmanager
def start_slipstream(folder: Path, origin: str, port: int) -> Iterator[Proxy]:
    """`slipstream serve` (one uvicorn worker) with one m3u source listing the origin's playlist."""
    from slipstream.proxy.signing import Signer
    from slipstream.proxy.stable import StableSigner

    (folder / "media" / "list.m3u").write_text(f"#EXTM3U\n#EXTINF:-1,Bench\n{origin}/index.m3u8\n")
    config = folder / "slipstream.toml"
    config.write_text(f'[server]\nsecret = "{SECRET}"\n[store]\nkind = "memory"\ndata_dir = "{folder}/data"\n'
                      '[proxy]\nallow_private_upstreams = true\n[verify]\nenabled = false\n'
                      f'[[sources]]\ntype = "m3u"\nkey = "bench"\nurl = "{origin}/list.m3u"\n')
    cmd = [sys.executable, "-m", "slipstream", "serve", "--config", str(config), "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running(cmd, folder / "slipstream.log", base + "/streams") as proc:
        stream_id = _wait_stream(base)
        signer = StableSigner(Signer(SECRET.encode()))
        yield Proxy("slipstream", lambda url: base + signer.sign(stream_id, url), origin, lambda: [proc.pid])


def _wait_stream(base: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(base + "/streams/all", timeout=5) as resp:
            streams = json.loads(resp.read())
        if streams:
            return str(streams[0]["id"])
        time.sleep(0.2)
    raise RuntimeError("slipstream found no stream")


@contextmanager
def start_mediaflow(folder: Path, origin: str, port: int) -> Iterator[Proxy]:
    """mediaflow-proxy's streaming endpoint (/proxy/stream), one uvicorn worker, logging at WARNING."""
    uvicorn = MEDIAFLOW / "bin" / "uvicorn"
    if not uvicorn.is_file():
        raise RuntimeError("mediaflow-proxy not installed: see bench/README.md (Proxy)")
    cmd = [str(uvicorn), "mediaflow_proxy.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1", "--no-access-log", "--log-level", "warning"]
    env = {"API_PASSWORD": "bench", "LOG_LEVEL": "WARNING", "ENABLE_HLS_PREBUFFER": "false"}
    base = f"http://127.0.0.1:{port}"
    with running(cmd, folder / "mediaflow.log", base + "/health", env) as proc:
        yield Proxy("mediaflow-proxy", lambda url: f"{base}/proxy/stream?d={quote(url, safe='')}"
                    "&api_password=bench", origin, lambda: [proc.pid])
