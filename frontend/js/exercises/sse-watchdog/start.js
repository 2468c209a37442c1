// Exercise: an EventSource watchdog for a half-open stream.
//
// While this runs, the page publishes an event every second, then makes
// your stream half-open: the connection stays up but nothing arrives, and
// EventSource cannot tell (no error, no reconnect). Add a watchdog: when no
// event has arrived for 3 s, close the stream and open a new one that
// resumes after the last id you got: `/api/sse?last_event_id=ID` (a new
// EventSource cannot set the Last-Event-ID header itself).
//
// The check: the events published while the stream was silent arrive
// anyway, none lost, none twice.

export function main() {
  const source = new EventSource("/api/sse");
  source.addEventListener("note", (m) => console.log(`#${m.lastEventId}`, JSON.parse(m.data).data.text));
}
