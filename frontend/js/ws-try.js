// "Connect /api/ws here": a tiny WebSocket session to show the handshake works.

export function initWsTry(button, output) {
  let socket = null;
  let received = 0;
  button.addEventListener("click", () => {
    if (socket) {
      socket.close(1000, "done");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/ws`);
    received = 0;
    output.textContent = "Opening the WebSocket…";
    button.textContent = "Disconnect";
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "subscribe" }));
    };
    socket.onmessage = (message) => {
      const msg = JSON.parse(message.data);
      if (msg.type === "welcome") {
        output.textContent = `Connected as ${msg.client_id}; subscribing…`;
      } else if (msg.type === "event") {
        received += 1;
        output.textContent = `Connected: ${received} event${received === 1 ? "" : "s"} received, newest #${msg.event.id}.`;
      } else if (msg.type === "ack") {
        output.textContent = "Subscribed to every topic. Waiting for events…";
      }
    };
    socket.onclose = (close) => {
      output.textContent = `Closed with code ${close.code}${close.reason ? ` (${close.reason})` : ""} after ${received} events.`;
      button.textContent = "Connect /api/ws here";
      socket = null;
    };
  });
}
