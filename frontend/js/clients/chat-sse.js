// Chat over SSE + POST. Receive: one EventSource on the chat topic. Send: a
// plain POST; the message comes back on the stream like everyone else's,
// so every message, your own included, is shown once: when it arrives.
// After a network error the EventSource reconnects with Last-Event-ID;
// after an error status (a proxy's 502, a 401) only your code can reopen it.

export const file = import.meta.url; // the widget shows this very file

export function openChat({ query = "", onMessage = console.log, onStatus = console.log } = {}) {
  const source = new EventSource(`/api/sse?topics=chat${query ? `&${query}` : ""}`);
  source.onopen = () => onStatus("open");
  source.onerror = () => onStatus(source.readyState === EventSource.CLOSED ? "closed for good" : "reconnecting");
  source.addEventListener("chat", (m) => onMessage(JSON.parse(m.data).data, Number(m.lastEventId)));
  return source;
}

export async function sendChat(text, { query = "" } = {}) {
  const res = await fetch(`/api/chat${query ? `?${query}` : ""}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(body.detail ?? `the server answered ${res.status}`);
  return body;   // 202 { id }: the event id it will arrive under
}

// Run on its own (the editor's Run button): listen, then say hello.
export function main() {
  openChat({ onStatus: (s) => s === "open" && sendChat("hello from my own code") });
}
