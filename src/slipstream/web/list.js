// The live list: one button per stream, in rank order, filtered by series and session.
// Refreshes update entries in place so focus and the player are never disturbed.

import { ago, el, matchesSession, ms, percent, seriesName, sessionName } from "./format.js";

export class StreamList {
  constructor({ list, empty, seriesSelect, filters, onChoose }) {
    this.list = list;
    this.empty = empty;
    this.seriesSelect = seriesSelect;
    this.filters = filters;
    this.streams = [];
    this.currentId = null;
    this.loaded = false;
    this.running = false;
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-id]");
      const stream = button && this.streams.find((s) => s.id === button.dataset.id);
      if (stream) onChoose(stream);
    });
    filters.addEventListener("change", () => this.render());
  }

  get filter() {
    const data = new FormData(this.filters);
    return { series: data.get("series") || "", session: data.get("session") || "" };
  }

  // The streams the filters let through, in rank order.
  visible() {
    const { series, session } = this.filter;
    return this.streams.filter((s) => (!series || s.series === series) && matchesSession(s, session));
  }

  update(streams, { running = false } = {}) {
    this.streams = streams;
    this.loaded = true;
    this.running = running;
    this.updateSeriesOptions();
    this.render();
  }

  setCurrent(id) {
    this.currentId = id;
    for (const button of this.list.querySelectorAll("button[data-id]")) mark(button, button.dataset.id === id);
  }

  updateSeriesOptions() {
    const present = [...new Set(this.streams.map((s) => s.series).filter(Boolean))].sort();
    const chosen = this.seriesSelect.value;
    const wanted = ["", ...present, ...(chosen && !present.includes(chosen) ? [chosen] : [])];
    const have = [...this.seriesSelect.options].map((o) => o.value);
    if (wanted.join("\n") === have.join("\n")) return;
    const options = wanted.map((key) => el("option", { value: key, text: key ? seriesName(key) : "All series" }));
    this.seriesSelect.replaceChildren(...options);
    this.seriesSelect.value = chosen;
  }

  render() {
    const shown = this.visible();
    const focusedId = this.list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    const existing = new Map([...this.list.children].map((li) => [li.dataset.id, li]));
    const items = shown.map((stream) => {
      const li = existing.get(stream.id) || el("li", { "data-id": stream.id });
      fill(li, stream, this.streams.indexOf(stream) + 1, stream.id === this.currentId);
      return li;
    });
    arrange(this.list, items);
    // Moving the focused entry up or down the ranking drops focus: put it back.
    const focused = focusedId && this.list.querySelector(`button[data-id="${CSS.escape(focusedId)}"]`);
    if (focused && document.activeElement !== focused) focused.focus();
    this.showEmpty(shown.length);
  }

  showEmpty(count) {
    this.empty.hidden = count > 0;
    if (count > 0) return;
    if (!this.loaded) this.empty.textContent = "Loading streams…";
    else if (this.streams.length) this.empty.textContent = "No live stream matches these filters.";
    else if (this.running) this.empty.textContent = "No live streams yet: the extractors are running.";
    else this.empty.textContent = "No live streams right now. The list refreshes by itself.";
  }
}

// Puts `items` in order in `list`, moving only the entries out of place and removing the rest.
function arrange(list, items) {
  items.forEach((li, i) => {
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
  });
  while (list.children.length > items.length) list.lastElementChild.remove();
}

// Makes `node` look like `fresh` while keeping `node` (and its children where they match) in
// the page: a click, hover or keyboard focus on an entry survives the refresh that updates it.
function morph(node, fresh) {
  if (node.nodeName !== fresh.nodeName) return node.replaceWith(fresh);
  if (node.nodeType === Node.TEXT_NODE) {
    if (node.data !== fresh.data) node.data = fresh.data;
    return;
  }
  for (const { name } of [...node.attributes]) if (!fresh.hasAttribute(name)) node.removeAttribute(name);
  for (const { name, value } of fresh.attributes) if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  const have = [...node.childNodes];
  const want = [...fresh.childNodes];
  want.forEach((child, i) => (have[i] ? morph(have[i], child) : node.append(child)));
  have.slice(want.length).forEach((child) => child.remove());
}

function mark(button, current) {
  if (current) button.setAttribute("aria-current", "true");
  else button.removeAttribute("aria-current");
}

function tags(stream) {
  const out = [];
  if (stream.quality) out.push(el("span", { class: "tag quality", text: stream.quality }));
  if (stream.series) out.push(el("span", { class: "tag series", text: seriesName(stream.series) }));
  if (stream.session_type) out.push(el("span", { class: "tag session", text: sessionName(stream.session_type) }));
  if (stream.stream_type === "embed") out.push(el("span", { class: "tag embed", text: "Embed" }));
  return out;
}

function stat(label, value, title) {
  return el("span", { class: "stat", title }, el("span", { class: "label", text: label }), el("span", { text: value }));
}

function fill(li, stream, rank, current) {
  const button = el("button", { type: "button", class: "stream", "data-id": stream.id },
    el("span", { class: "rank", text: String(rank), "aria-hidden": "true" }),
    el("span", { class: "body" },
      el("span", { class: "title", text: stream.title || "(untitled)" }),
      el("span", { class: "line" }, el("span", { class: "source", text: stream.site_name }), ...tags(stream)),
      el("span", { class: "stats" },
        stat("response", ms(stream.response_time_ms), "Response time (playlist fetch)"),
        stat("1st frame", ms(stream.first_frame_ms), "Time to first frame in the verifier"),
        stat("uptime", percent(stream.uptime), "Share of checks in the last 24 h that found it live"),
        stat("checked", ago(stream.checked_at), stream.checked_at || "never checked"))));
  mark(button, current);
  const old = li.firstElementChild;
  if (!old) li.append(button);
  else morph(old, button);
}
