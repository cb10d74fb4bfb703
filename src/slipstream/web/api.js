// The service's JSON API, as the page uses it. Every call resolves; failures carry a message.

async function call(method, path) {
  try {
    const response = await fetch(path, { method, headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const detail = body && (body.detail || body.error);
      return { ok: false, status: response.status, error: `HTTP ${response.status}${detail ? `: ${detail}` : ""}` };
    }
    return { ok: true, status: response.status, body };
  } catch (err) {
    return { ok: false, status: 0, error: `network error: ${err.message}` };
  }
}

export const liveStreams = () => call("GET", "/streams");
export const extractorStatus = () => call("GET", "/extractors");
export const watch = (id) => call("POST", `/streams/${encodeURIComponent(id)}/watch`);
export const unwatch = (id) => call("DELETE", `/streams/${encodeURIComponent(id)}/watch`);
