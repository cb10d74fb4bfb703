// The player: HLS through the service's proxy with hls.js (or native HLS), embeds in a
// sandboxed iframe. It marks the stream watched, keeps a heartbeat, and reports a stream
// as failed on a fatal player error, a stall, or no picture at start.

import * as api from "./api.js";
import { el } from "./format.js";

export const STALL_MS = 8000;        // the threshold: longer than this and we move on
const STARTUP_MS = 15000;            // a cold stream through the proxy gets a little longer
const TICK_MS = 500;

// Fewer, quicker retries than hls.js's defaults: a dead stream should fail within seconds,
// the fallback then finds one that plays.
const retry = (n, delay) => ({ maxNumRetry: n, retryDelayMs: delay, maxRetryDelayMs: delay * 2 });
const policy = (ttfb, load, n) => ({
  default: { maxTimeToFirstByteMs: ttfb, maxLoadTimeMs: load, timeoutRetry: retry(n, 0), errorRetry: retry(n, 1000) },
});
const HLS_CONFIG = {
  lowLatencyMode: false,
  manifestLoadPolicy: policy(6000, 10000, 1),
  playlistLoadPolicy: policy(6000, 10000, 1),
  fragLoadPolicy: policy(6000, 20000, 2),
};

const EMBED_SANDBOX = "allow-scripts allow-same-origin allow-presentation";

export class Player {
  constructor(screen, { onFail, onStart, heartbeatMs }) {
    this.screen = screen;
    this.heartbeatMs = heartbeatMs;
    this.placeholder = screen.firstElementChild;
    this.onFail = onFail;
    this.onStart = onStart;
    this.stream = null;
    this.generation = 0;
    this.hls = null;
    this.timers = [];
  }

  // Starts `stream`; resolves once the service has answered the watch request.
  async play(stream) {
    this.stop();
    const generation = this.generation;
    this.stream = stream;
    this.screen.dataset.state = "starting";
    const answer = await api.watch(stream.id);
    if (generation !== this.generation) return;  // another stream was chosen meanwhile
    if (!answer.ok) return this.fail(`could not start it (${answer.error})`);
    this.every(this.heartbeatMs, () => api.watch(stream.id));
    const info = answer.body;
    if ((info.stream_type || stream.stream_type) === "embed") {
      this.mountEmbed(info.embed_url || stream.embed_url || stream.url, stream.title);
    } else {
      this.mountVideo(info.proxy_url, stream.title);
    }
  }

  // Stops playback and tells the service the stream is no longer watched.
  stop() {
    this.generation += 1;
    this.timers.forEach(clearInterval);
    this.timers = [];
    if (this.hls) this.hls.destroy();
    this.hls = null;
    if (this.stream) api.unwatch(this.stream.id);
    this.stream = null;
    this.screen.replaceChildren(this.placeholder);
    this.screen.dataset.state = "idle";
  }

  fail(reason, { retryable = true } = {}) {
    const stream = this.stream;
    this.stop();
    if (stream) this.onFail(stream, reason, retryable);
  }

  every(ms, fn) {
    this.timers.push(setInterval(fn, ms));
  }

  started(state = "playing") {
    this.screen.dataset.state = state;
    this.onStart(this.stream);
  }

  mountEmbed(url, title) {
    const frame = el("iframe", {
      src: url, title: `Embedded player: ${title}`, sandbox: EMBED_SANDBOX,
      allow: "autoplay; fullscreen; encrypted-media; picture-in-picture",
      allowfullscreen: true, referrerpolicy: "no-referrer",
    });
    this.screen.replaceChildren(frame);
    // Nothing inside a sandboxed cross-origin frame can be seen (not even an error page): it is
    // reported as opened, never as playing, and no watchdog can tell when it dies.
    this.started("embedded");
  }

  mountVideo(url, title) {
    const video = el("video", { controls: true, autoplay: true, playsinline: true, "aria-label": title });
    this.screen.replaceChildren(video);
    const Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      this.hls = new Hls(HLS_CONFIG);
      this.hls.on(Hls.Events.ERROR, (_event, data) => this.hlsError(data));
      this.hls.on(Hls.Events.MANIFEST_PARSED, () => start(video));
      this.hls.loadSource(url);
      this.hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.addEventListener("error", () => this.fail("the browser's player reported an error"));
      video.src = url;
      start(video);
    } else {
      return this.fail("this browser cannot play HLS (hls.js did not load)", { retryable: false });
    }
    video.addEventListener("playing", () => this.started(), { once: true });
    this.watchdog(video);
  }

  hlsError(data) {
    if (!data.fatal) return;  // hls.js retries those itself; the watchdog catches the rest
    if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR && !this.recovered) {
      this.recovered = true;
      this.hls.recoverMediaError();
      return;
    }
    this.fail(`player error: ${data.details}`);
  }

  // Fails the stream when its clock has not moved for STALL_MS (STARTUP_MS before the first
  // frame). A paused video or a hidden tab is not a stall.
  watchdog(video) {
    let last = -1;
    let progressAt = performance.now();
    let moved = false;
    this.recovered = false;
    this.every(TICK_MS, () => {
      const now = performance.now();
      if (video.ended) return this.fail("the stream ended");
      if (video.currentTime > last) {
        moved = moved || last >= 0;
        last = video.currentTime;
        progressAt = now;
      } else if ((moved && video.paused) || document.hidden) {
        progressAt = now;
      }
      const limit = moved ? STALL_MS : STARTUP_MS;
      if (now - progressAt > limit) {
        this.fail(moved ? `it stalled for more than ${STALL_MS / 1000} s` : `no picture after ${STARTUP_MS / 1000} s`);
      }
    });
  }
}

// Autoplay with sound needs a gesture; a fallback switch has none, so it plays muted.
function start(video) {
  video.play().catch((err) => {
    if (err.name !== "NotAllowedError") return;
    video.muted = true;
    video.play().catch(() => {});
  });
}
