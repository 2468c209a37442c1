// WebSockets, the whole client: one socket, a JSON protocol on top.
// ws:// on an http page, wss:// on an https page (which blocks ws://).
// The server sends `welcome`, then whatever we subscribe to as `event`
// messages, and answers each of our messages (ack, pong, echo, error…).
// Nothing reconnects by itself: pass the last event id seen as `since` to
// a new socket and the server replays what was missed.
// `topics` narrows the subscription (all topics without it); `base` opens
// the socket to another server (the scaling lesson's instances).

export const file = import.meta.url; // the widget shows this very file

export function connect({ base = "", topics = null, since = null, query = "", onOpen = console.log, onMessage = console.log, onClose = console.log } = {}) {
  const url = new URL(`/api/ws${query ? `?${query}` : ""}`, base || location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  ws.onopen = () => {
    const message = { type: "subscribe" };
    if (topics !== null) message.topics = topics;
    if (since !== null) message.since = since;
    const subscribe = JSON.stringify(message);
    ws.send(subscribe);
    onOpen(subscribe);
  };
  ws.onmessage = (m) => onMessage(JSON.parse(m.data), m.data);
  ws.onclose = (c) => onClose(c.code, c.reason);
  return ws;   // ws.send(JSON.stringify({ type: "ping" })) talks back
}

// Run on its own (the editor's Run button): log every message, and ping.
export function main() {
  const ws = connect({ onOpen: () => ws.send(JSON.stringify({ type: "ping" })) });
}
