// The tracks this browser made, kept in localStorage until the server's links expire.

const KEY = "tunesmith.history.v1";
const LIMIT = 50;

/** Every stored entry whose track has not expired, newest first (expired ones are dropped). */
export function loadHistory(now = Date.now()) {
  const entries = readAll();
  const alive = entries.filter((e) => e.track && e.track.expires_at * 1000 > now);
  if (alive.length !== entries.length) writeAll(alive);
  return alive;
}

/** Remember a finished generation: what was asked and the track the server made. */
export function remember(entry) {
  const others = loadHistory().filter((e) => e.track.id !== entry.track.id);
  writeAll([entry, ...others].slice(0, LIMIT));
}

export function forget(trackId) {
  writeAll(loadHistory().filter((e) => e.track.id !== trackId));
}

function readAll() {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

function writeAll(entries) {
  try {
    localStorage.setItem(KEY, JSON.stringify(entries));
  } catch {
    // Storage full or disabled: the history is a convenience, the page works without it.
  }
}
