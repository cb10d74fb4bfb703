// The page: wires the list, the player, the automatic fallback, the status view and polling.

import * as api from "./api.js";
import { fallbackOrder, nextStream } from "./fallback.js";
import { seriesName, sessionName } from "./format.js";
import { StreamList } from "./list.js";
import { Player } from "./player.js";
import { renderStatus } from "./status.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// `?poll=2` makes the list refresh every 2 s (tests, impatient users); 15 s otherwise.
const POLL_MS = Math.max(1, Number(params.get("poll")) || 15) * 1000;
// `?heartbeat=2` renews the watch every 2 s (tests); once a minute otherwise, well inside the
// 10 min after which the service forgets a stream without traffic.
const HEARTBEAT_MS = Math.max(1, Number(params.get("heartbeat")) || 60) * 1000;

const state = { failed: new Set(), waiting: false };

const list = new StreamList({
  list: $("stream-list"), empty: $("empty"), seriesSelect: $("series-filter"), filters: $("filters"),
  onChoose: choose,
});
const player = new Player($("screen"), { onFail: fallBack, onStart: showPlaying, heartbeatMs: HEARTBEAT_MS });

function notify(text) {
  const notice = $("notice");
  notice.textContent = text;
  notice.hidden = !text;
}

function describe(stream) {
  const parts = [stream.site_name, stream.quality, stream.series && seriesName(stream.series),
    stream.session_type && sessionName(stream.session_type)];
  return parts.filter(Boolean).join(" · ");
}

function showNowPlaying(stream, phase) {
  $("now-playing").textContent = stream ? stream.title || "(untitled)" : "Nothing playing";
  $("now-meta").textContent = stream ? `${phase} · ${describe(stream)}` : "";
  $("stop").hidden = !stream;
  list.setCurrent(stream ? stream.id : null);
}

function showPlaying(stream) {
  if (stream.stream_type !== "embed") return showNowPlaying(stream, "Live");
  showNowPlaying(stream, "Embedded");
  notify(`“${stream.title}” opened in its site's own player. slipstream cannot see inside it: it cannot ` +
    "tell whether it plays, nor switch to another stream if it stops.");
}

function play(stream) {
  showNowPlaying(stream, "Starting");
  player.play(stream);
}

// A stream the user picks: every stream gets a fresh chance.
function choose(stream) {
  if (player.stream && player.stream.id === stream.id) return;  // already on it
  state.failed.clear();
  state.waiting = false;
  notify("");
  if (matchMedia("(max-width: 900px)").matches) $("screen").scrollIntoView({ behavior: "smooth", block: "start" });
  play(stream);
}

function fallBack(failed, reason, retryable) {
  state.failed.add(failed.id);
  const next = retryable ? nextStream(fallbackOrder(list.visible(), list.streams), failed.id, state.failed) : null;
  const what = `“${failed.title}” stopped playing: ${reason}.`;
  if (next) {
    notify(`${what} Switched to “${next.title}”.`);
    play(next);
    return;
  }
  showNowPlaying(null);
  state.waiting = retryable;
  const embeds = list.streams.some((s) => s.stream_type === "embed")
    ? " Embedded players are never switched to by themselves: pick one if you want it." : "";
  notify(retryable ? `${what} No other live stream left to try; starting over from the top when the list refreshes.${embeds}` : what);
}

function startOver() {
  const order = fallbackOrder(list.visible(), list.streams);
  if (!state.waiting || !order.length) return;
  state.waiting = false;
  state.failed.clear();
  notify(`Starting over from the top of the refreshed list with “${order[0].title}”.`);
  play(order[0]);
}

async function refresh() {
  const [streams, status] = await Promise.all([api.liveStreams(), api.extractorStatus()]);
  $("conn").hidden = streams.ok;
  if (streams.ok) {
    list.update(streams.body, { running: status.ok && status.body.running });
    $("live-count").textContent = String(streams.body.length);
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    startOver();
  }
  if (status.ok) {
    const failing = renderStatus({ cards: $("status-cards"), table: $("extractor-table"), updated: $("status-updated") }, status.body);
    $("status-dot").hidden = failing === 0;
  }
}

async function poll() {
  await refresh();
  setTimeout(poll, POLL_MS);
}

function route() {
  const view = location.hash === "#status" ? "status" : "streams";
  $("streams").hidden = view !== "streams";
  $("status").hidden = view !== "status";
  for (const name of ["streams", "status"]) {
    const tab = $(`tab-${name}`);
    if (name === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
}

$("stop").addEventListener("click", () => {
  player.stop();
  state.waiting = false;
  showNowPlaying(null);
  notify("");
});
window.addEventListener("hashchange", route);
route();
poll();
