// "Connect /api/ws here": a tiny WebSocket session to show the handshake
// works, with the lessons' own WebSocket client.

import { connect } from "./clients/ws.js";

export function initWsTry(button, output) {
  let socket = null;
  let received = 0;
  button.addEventListener("click", () => {
    if (socket) {
      socket.close(1000, "done");
      return;
    }
    received = 0;
    output.textContent = "Opening the WebSocket…";
    button.textContent = "Disconnect";
    socket = connect({
      onOpen: () => {},
      onMessage: (msg) => {
        if (msg.type === "welcome") {
          output.textContent = `Connected as ${msg.client_id}; subscribing…`;
        } else if (msg.type === "event") {
          received += 1;
          output.textContent = `Connected: ${received} event${received === 1 ? "" : "s"} received, newest #${msg.event.id}.`;
        } else if (msg.type === "ack") {
          output.textContent = "Subscribed to every topic. Waiting for events…";
        }
      },
      onClose: (code, reason) => {
        output.textContent = `Closed with code ${code}${reason ? ` (${reason})` : ""} after ${received} events.`;
        button.textContent = "Connect /api/ws here";
        socket = null;
      },
    });
  });
}
