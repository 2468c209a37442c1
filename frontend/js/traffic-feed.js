// The learner's own traffic log as a client: the newest entries first, then
// every new one live from `GET /api/traffic/stream` (itself SSE). Shared by
// the traffic panel and the sequence diagram.
//
// EventSource sends Last-Event-ID when it reconnects, so a dropped stream
// replays what it missed; entries already taken (by `seq`) are skipped, so a
// replay never shows twice. `reset` means the server forgot the log (it
// restarted): its whole log follows.

import { getJson } from "./api.js";

/**
 * Follows the log. `onEntry(e)` gets each entry once, in order (`initial`
 * picks which of the first page to hand over); `onPage(page)` gets the first
 * page itself; `onReset()`, `onLive()`, `onInterrupted()` and `onError(err)`
 * report the stream's state. Returns stop().
 */
export function followTraffic({
  limit = 300,
  initial = (entries) => entries,
  onEntry,
  onPage = () => {},
  onReset = () => {},
  onLive = () => {},
  onInterrupted = () => {},
  onError = () => {},
}) {
  let source = null;
  let stopped = false;
  let lastSeq = 0;
  const take = (e) => {
    if (e.seq <= lastSeq) return;
    lastSeq = e.seq;
    onEntry(e);
  };
  (async () => {
    try {
      const page = await getJson(`/api/traffic?limit=${limit}`);
      lastSeq = page.entries.at(-1)?.seq ?? 0;
      for (const e of initial(page.entries)) onEntry(e);
      onPage(page);
    } catch (err) {
      onError(err);
    }
    if (stopped) return;
    source = new EventSource(`/api/traffic/stream?since=${lastSeq}`);
    source.addEventListener("entry", (m) => take(JSON.parse(m.data)));
    source.addEventListener("reset", () => {
      lastSeq = 0;
      onReset();
    });
    source.onopen = () => onLive();
    source.onerror = () => onInterrupted();
  })();
  return () => {
    stopped = true;
    source?.close();
  };
}
