// Exercise: a WebSocket client that comes back after a drop.
//
// While this runs, the page publishes events and the server drops your
// socket three times. This client never reconnects. Make it:
// - after a close, wait before reconnecting, longer after each failure
//   (exponential back-off), with some randomness (jitter) so that
//   thousands of clients dropped at once do not all come back at once;
// - subscribe on the new socket with `since`, the last event id you got,
//   so the server replays what you missed.
//
// The check: three reconnects after drops, 0 events lost, 0 twice, and
// reconnect delays that differ by at least 100 ms.

const scheme = location.protocol === "https:" ? "wss" : "ws";

function connect() {
  const ws = new WebSocket(`${scheme}://${location.host}/api/ws`);
  ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe" }));
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "event") console.log(`#${msg.event.id}`, msg.event.data.text);
  };
  ws.onclose = (c) => console.log("closed", c.code);
}

export function main() {
  connect();
}
