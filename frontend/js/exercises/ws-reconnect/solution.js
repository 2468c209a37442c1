// A WebSocket client that reconnects with exponential back-off and jitter,
// and resumes with `since` so nothing is lost or repeated.

const scheme = location.protocol === "https:" ? "wss" : "ws";
let since = null;   // the last event id received
let attempt = 0;    // failures in a row

function connect() {
  const ws = new WebSocket(`${scheme}://${location.host}/api/ws`);
  let openedAt = 0;
  ws.onopen = () => {
    openedAt = Date.now();
    ws.send(JSON.stringify(since === null ? { type: "subscribe" } : { type: "subscribe", since }));
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "event") {
      since = msg.event.id;
      console.log(`#${msg.event.id}`, msg.event.data.text);
    }
  };
  ws.onclose = (c) => {
    // A connection that stayed up 10 s was healthy: start the back-off over.
    if (openedAt && Date.now() - openedAt > 10000) attempt = 0;
    const ceiling = Math.min(10000, 250 * 2 ** attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);   // "equal jitter"
    attempt += 1;
    console.log(`closed ${c.code}; reconnecting in ${Math.round(delay)} ms`);
    setTimeout(connect, delay);
  };
}

export function main() {
  connect();
}
