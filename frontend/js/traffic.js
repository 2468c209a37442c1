// Traffic page: try each transport and watch what it costs on the wire.

import { initTheme } from "./theme.js";
import { mountTrafficPanel } from "./traffic-panel.js";
import { LongPollingClient, PollingClient, SseClient, WebSocketClient } from "./clients.js";
import { armControls } from "./dom.js";

const $ = (id) => document.getElementById(id);
initTheme($("theme"));
mountTrafficPanel($("traffic"));

function toggle(button, client, label) {
  button.addEventListener("click", () => {
    if (client.running) client.stop(); else client.start();
    button.setAttribute("aria-pressed", String(client.running));
    button.textContent = `${client.running ? "Stop" : "Start"} ${label}`;
  });
}

const status = (id) => (text) => { $(id).textContent = text; };
const poller = new PollingClient({ intervalMs: 1000, onStatus: status("poll-status") });
toggle($("poll-toggle"), poller, "polling every 1 s");
$("poll-once").addEventListener("click", () => poller.once().catch((e) => status("poll-status")(e.message)));
toggle($("long-poll-toggle"), new LongPollingClient({ onStatus: status("long-poll-status") }), "long-polling");
toggle($("sse-toggle"), new SseClient({ onStatus: status("sse-status") }), "SSE stream");
toggle($("ws-toggle"), new WebSocketClient({ onStatus: status("ws-status") }), "WebSocket");

armControls();
