// Small, pure formatters shared by the list, the player bar and the status view.

const SERIES_NAMES = {
  f1: "F1", f2: "F2", f3: "F3", "f1-academy": "F1 Academy", "formula-e": "Formula E",
  motogp: "MotoGP", moto2: "Moto2", moto3: "Moto3", wsbk: "WorldSBK", wrc: "WRC", wec: "WEC",
  imsa: "IMSA", nascar: "NASCAR", indycar: "IndyCar", dtm: "DTM", btcc: "BTCC",
  supercars: "Supercars",
};

const SESSION_NAMES = {
  race: "Race", qualifying: "Qualifying", sprint: "Sprint", "sprint-qualifying": "Sprint quali",
  practice: "Practice", fp1: "FP1", fp2: "FP2", fp3: "FP3",
};

export function seriesName(key) {
  return SERIES_NAMES[key] || key;
}

export function sessionName(key) {
  return SESSION_NAMES[key] || key;
}

// The session filters group the tags the extractors write; untagged streams match every
// filter, as GET /streams/session/{type} does (a channel without a tag may show anything).
const SESSION_GROUPS = {
  race: ["race"],
  qualifying: ["qualifying", "sprint-qualifying"],
  sprint: ["sprint", "sprint-qualifying"],
  practice: ["practice", "fp1", "fp2", "fp3"],
};

export function matchesSession(stream, filter) {
  if (!filter || !stream.session_type) return true;
  return (SESSION_GROUPS[filter] || [filter]).includes(stream.session_type);
}

export function ms(value) {
  if (value === null || value === undefined) return "—";
  return value >= 10000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  return value >= 60 ? `${Math.floor(value / 60)} min ${Math.round(value % 60)} s` : `${value.toFixed(1)} s`;
}

export function percent(share) {
  if (share === null || share === undefined) return "—";
  return `${Math.round(share * 100)}%`;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const diff = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(diff)) return iso;
  if (diff < 60) return `${diff} s ago`;
  if (diff < 3600) return `${Math.floor(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.floor(diff / 3600)} h ago`;
  return `${Math.floor(diff / 86400)} d ago`;
}

export function bitrate(bps) {
  if (!bps) return null;
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mb/s` : `${Math.round(bps / 1e3)} kb/s`;
}

// Builds an element: el("span", {class: "x", text: "hi"}, child, ...). Text is never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}
