// Server-Sent Events, the whole client: one EventSource. The browser keeps
// the stream open, parses the events, and after a dropped connection
// reconnects by itself, sending Last-Event-ID so the server can replay what
// was missed. After an answer that is not a 200 text/event-stream (a 502
// during a deploy, a 401) it gives up for good: readyState is CLOSED and
// only your code can open it again.

export const file = import.meta.url; // the widget shows this very file

// Each event type arrives under its own name (the "event:" field); events
// without one go to onmessage.
export const EVENT_TYPES = ["price", "notification", "note", "greeting", "test", "chat"];

export function openStream({ query = "", onEvent = console.log, onStatus = console.log } = {}) {
  const source = new EventSource(`/api/sse${query ? `?${query}` : ""}`);
  source.onopen = () => onStatus("open");
  source.onerror = () => onStatus(source.readyState === EventSource.CLOSED ? "closed for good" : "reconnecting");
  const handle = (m) => onEvent(JSON.parse(m.data), m.lastEventId);
  source.onmessage = handle;
  for (const type of EVENT_TYPES) source.addEventListener(type, handle);
  // The server's id is gone from its buffer: it says so instead of guessing.
  source.addEventListener("reset", (m) => onStatus("reset", JSON.parse(m.data).message));
  return source;   // source.close() ends it; a closed EventSource never reconnects
}

// Run on its own (the editor's Run button): log every event.
export function main() {
  openStream();
}
