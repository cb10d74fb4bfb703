// The status view: totals, the last run, the verifier, and one row per extractor.

import { ago, el, seconds } from "./format.js";

function card(label, value, extra, tone) {
  return el("div", { class: `card${tone ? ` ${tone}` : ""}` },
    el("dt", { text: label }), el("dd", { text: value }), extra ? el("p", { class: "muted small", text: extra }) : null);
}

function verifierCard(verifier) {
  if (verifier.enabled) return card("Playback verifier", "On", "every stream is played in a real browser", "good");
  return card("Playback verifier", "Off", verifier.reason || "disabled", "warn");
}

function runCard(status) {
  if (!status.last_run) return card("Last run", status.running ? "running…" : "not yet", null);
  const took = status.last_run_duration_s == null ? "" : `, took ${seconds(status.last_run_duration_s)}`;
  const value = status.running ? "running now" : ago(status.last_run);
  return card("Last run", value, `${status.last_run_stream_count} streams found${took}`);
}

function row(info) {
  const error = info.last_error
    ? el("td", { class: "error" }, el("span", { class: "badge bad", text: "error" }), ` ${info.last_error}`)
    : el("td", { class: "ok" }, el("span", { class: "badge good", text: "ok" }));
  return el("tr", { "data-key": info.site_key },
    el("th", { scope: "row" }, el("span", { text: info.site_name || info.site_key }),
      el("span", { class: "muted small key", text: info.site_key })),
    el("td", { class: "num", "data-label": "Cached", text: String(info.cached_streams) }),
    el("td", { class: "num", "data-label": "Live", text: String(info.live_streams) }),
    el("td", { class: "when", "data-label": "Last run", text: ago(info.last_run), title: info.last_run || "" }),
    el("td", { class: "num", "data-label": "Took", text: seconds(info.last_duration_s) }),
    error);
}

export function renderStatus({ cards, table, updated }, status) {
  const failing = status.extractors.filter((e) => e.last_error).length;
  cards.replaceChildren(
    card("Live streams", String(status.total_live_streams), `of ${status.total_cached_streams} cached`),
    runCard(status),
    verifierCard(status.verifier),
    card("Extractor errors", String(failing), `${status.extractors.length} extractors`, failing ? "bad" : "good"),
  );
  const rows = status.extractors.map(row);
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 6, class: "muted", text: "No sources configured." })));
  table.tBodies[0].replaceChildren(...rows);
  updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  return failing;
}
