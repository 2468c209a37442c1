// Server-Sent Events, the whole client: one EventSource. The browser keeps
// the stream open, parses the events, and after a dropped connection
// reconnects by itself, sending Last-Event-ID so the server can replay what
// was missed. After an answer that is not a 200 text/event-stream (a 502
// during a deploy, a 401) it gives up for good: readyState is CLOSED and
// only your code can open it again.
//
// `since` resumes after a known id (what a reconnect's Last-Event-ID does);
// `base` reads another server (the scaling lesson's instances), with the
// cookie.

export const file = import.meta.url; // the widget shows this very file

// Each event type arrives under its own name (the "event:" field), and
// EventSource drops a named event nobody listens for. So the client says
// which names it listens for (`named=`) and the server sends every other
// type, one you publish yourself too, without a name: onmessage gets it.
export const EVENT_TYPES = ["price", "notification", "note", "greeting", "test", "chat"];

// What onStatus reports.
export const STREAM = Object.freeze({ open: "open", reconnecting: "reconnecting", closedForGood: "closed for good", reset: "reset" });

export function openStream({ types = EVENT_TYPES, since = null, base = "", query = "", onEvent = console.log, onStatus = console.log } = {}) {
  const params = [query, `named=${types.join(",")}`, since === null ? "" : `last_event_id=${since}`];
  const source = new EventSource(`${base}/api/sse?${params.filter(Boolean).join("&")}`, { withCredentials: base !== "" });
  source.onopen = () => onStatus(STREAM.open);
  source.onerror = () => onStatus(source.readyState === EventSource.CLOSED ? STREAM.closedForGood : STREAM.reconnecting);
  const handle = (m) => onEvent(JSON.parse(m.data), m.lastEventId);
  source.onmessage = handle;
  for (const type of types) source.addEventListener(type, handle);
  // The server's id is gone from its buffer: it says so instead of guessing.
  source.addEventListener("reset", (m) => onStatus(STREAM.reset, JSON.parse(m.data).message));
  return source;   // source.close() ends it; a closed EventSource never reconnects
}

// Run on its own (the editor's Run button): log every event.
export function main() {
  openStream();
}
