// Chat over one WebSocket: subscribe to the chat topic, send `chat`
// messages. Every message lands on the topic whichever way it was sent,
// so your own comes back too: show messages when they arrive, not when
// you send them. Missing here, and yours to write: reconnect with back-off,
// heartbeats, resubscribe and catch up after a drop (lesson 8 shows it all).

export const file = import.meta.url; // the widget shows this very file

export function connectChat({ query = "", onMessage = console.log, onOpen = () => {}, onClose = console.log } = {}) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/ws${query ? `?${query}` : ""}`);
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "subscribe", topics: ["chat"] }));
    onOpen();
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "event" && msg.event.topic === "chat") onMessage(msg.event.data, msg.event.id);
    else if (msg.type === "error") onMessage({ from: "server", text: msg.message }, null);
    // The room's own "chat" messages repeat what the topic already brought.
  };
  ws.onclose = (c) => onClose(c.code, c.reason);
  return ws;
}

export function say(ws, text) {
  ws.send(JSON.stringify({ type: "chat", text }));
}

// Run on its own (the editor's Run button): join, then say hello.
export function main() {
  const ws = connectChat({ onOpen: () => say(ws, "hello from my own code") });
}
