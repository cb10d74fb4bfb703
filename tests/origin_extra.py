"""Transport-level faults the aiohttp test origin (tests/origin.py) cannot make: a raw HTTP/1.1 server.

It runs on 127.0.0.1 in its own thread and event loop, answers one request per
connection, and counts requests in flight (for concurrency bounds). Segments are
real TS bytes handed in by the caller. Every wait is bounded (`MAX_HOLD_S`).

| path | what |
|---|---|
| /live/{fault}/index.m3u8 | a well-formed live media playlist (6 segments of 2 s, moving) of `{k}.ts` |
| /live/ok/{k}.ts | the segment, whole |
| /live/stall/{k}.ts | 200 with the full Content-Length, the first 1,000 bytes, then silence |
| /live/cut/{k}.ts | 200 with the full Content-Length, the first 1,000 bytes, then the connection closed |
| /live/endless/{k}.ts | 200 chunked: the segment over and over until the client goes away |
| /close/index.m3u8 | the connection closed without a byte of answer |
| /nothttp/index.m3u8 | bytes that are not HTTP |
| /stall-playlist/index.m3u8 | half a playlist, then silence |
| /endless-playlist/index.m3u8 | 200 chunked: playlist lines forever |
| /hold/{ms}/{anything} | waits `ms` milliseconds, then 404 |
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

MAX_HOLD_S = 120.0    # no connection is held longer than this, whatever the client does
SEGMENT_S = 2
_PLAYLIST_TYPE = b"application/vnd.apple.mpegurl"


class FaultServer:
    """The raw fault server; `url(path)` makes absolute URLs."""

    __test__ = False

    def __init__(self, segment: bytes) -> None:
        self.segment = segment
        self.base_url = ""
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.endless_ended = threading.Event()   # set when an endless body's client went away
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-origin", daemon=True)

    def start(self) -> FaultServer:
        self._thread.start()
        self.base_url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def close(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def url(self, path: str) -> str:
        return self.base_url + path

    def reset_counts(self) -> None:
        self.max_in_flight, self.requests = self.in_flight, 0

    # --- serving ---------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.in_flight += 1
        self.requests += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            path = head.split(b" ", 2)[1].decode("latin-1").partition("?")[0]
            async with asyncio.timeout(MAX_HOLD_S):
                await self._route(path.strip("/").split("/"), reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, IndexError):
            pass  # the client went away or sent nonsense: nothing to answer
        finally:
            self.in_flight -= 1
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _route(self, parts: list[str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     ) -> None:
        first = parts[0] if parts else ""
        if first == "live" and len(parts) == 3:
            await self._live(parts[1], parts[2], reader, writer)
        elif first == "close":
            return
        elif first == "nothttp":
            writer.write(b"\x00\x13\x37 this is not HTTP at all\r\n\r\n")
        elif first == "stall-playlist":
            body = _playlist().encode()
            writer.write(_head(200, _PLAYLIST_TYPE, len(body)) + body[: len(body) // 2])
            await _silence(reader, writer)
        elif first == "endless-playlist":
            await self._endless(writer, _PLAYLIST_TYPE, b"#EXTM3U\n" + b"#EXTINF:2.0,\nsegment.ts\n" * 4000)
        elif first == "hold" and len(parts) >= 2 and parts[1].isdigit():
            await asyncio.sleep(int(parts[1]) / 1000)
            writer.write(_head(404, b"text/plain", 0))
        else:
            writer.write(_head(404, b"text/plain", 0))

    async def _live(self, fault: str, name: str, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        if name == "index.m3u8":
            body = _playlist().encode()
            writer.write(_head(200, _PLAYLIST_TYPE, len(body)) + body)
        elif fault == "endless":
            await self._endless(writer, b"video/mp2t", self.segment)
        elif fault in ("stall", "cut"):
            writer.write(_head(200, b"video/mp2t", len(self.segment)) + self.segment[:1000])
            if fault == "stall":
                await _silence(reader, writer)
        else:
            writer.write(_head(200, b"video/mp2t", len(self.segment)) + self.segment)
        await writer.drain()

    async def _endless(self, writer: asyncio.StreamWriter, content_type: bytes, chunk: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type
                     + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        try:
            while True:  # bounded by MAX_HOLD_S in _handle
                writer.write(frame)
                await writer.drain()
        finally:
            self.endless_ended.set()


def _head(status: int, content_type: bytes, length: int) -> bytes:
    return (b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (status, content_type, length))


def _playlist() -> str:
    """A live media playlist whose window moves every SEGMENT_S seconds."""
    first = int(time.time() // SEGMENT_S)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{SEGMENT_S}",
             f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for k in range(first, first + 6):
        lines += [f"#EXTINF:{SEGMENT_S}.0,", f"{k}.ts"]
    return "\n".join(lines) + "\n"


async def _silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Hold the connection open, sending nothing, until the client closes it (or MAX_HOLD_S)."""
    await writer.drain()
    while await reader.read(65536):  # b"" once the client has closed its end
        pass
