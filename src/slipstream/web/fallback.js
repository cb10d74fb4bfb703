// Which stream to try after one fails (pure). Streams that failed in this round are never
// tried again until the list refreshes, so a dead stream cannot make the page loop.

// `order` is the ranked list the user sees (filtered first, then the rest), `failed` a Set of ids.
export function nextStream(order, currentId, failed) {
  const at = order.findIndex((s) => s.id === currentId);
  const untried = (s) => !failed.has(s.id) && s.id !== currentId;
  // The next one down the ranking; then any untried one above it.
  return order.slice(at + 1).find(untried) || order.slice(0, Math.max(at, 0)).find(untried) || null;
}

// Filtered entries first (what the user is looking at), then every other live stream. Never an
// embed: the page cannot see whether another site's player plays, so switching to one by itself
// would claim a rescue it cannot check. The user can still pick one.
export function fallbackOrder(visible, all) {
  const shown = new Set(visible.map((s) => s.id));
  return [...visible, ...all.filter((s) => !shown.has(s.id))].filter((s) => s.stream_type !== "embed");
}
