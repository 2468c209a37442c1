import { withActor } from "../clients.js";
import { button, codeBox, el, messageLog, status } from "./kit.js";

const CODE = `const ws = new WebSocket(\`ws://\${location.host}/api/ws\`);
ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe" }));
ws.onmessage = (m) => show(JSON.parse(m.data));   // welcome, event, ack, chat, error…
ws.onclose = (c) => console.log("closed", c.code, c.reason);
// Sending is just as easy, in the other direction:
ws.send(JSON.stringify({ type: "ping" }));`;

export function mount(root) {
  const log = messageLog("WebSocket messages");
  const state = status();
  let socket = null;
  let opened = null;
  const input = el("input", { type: "text", value: '{"type":"ping"}', "aria-label": "Message to send (JSON)", spellcheck: "false", class: "mono grow" });
  const toggle = button("Connect", () => (socket ? stop() : start()));
  const sendBtn = button("Send", () => send(input.value), "ghost");
  toggle.dataset.client = "ws";
  input.dataset.action = "ws-message";
  sendBtn.dataset.action = "ws-send";
  const start = ({ actor = "learner" } = {}) => {
    if (socket) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(withActor(`${scheme}://${location.host}/api/ws`, actor));
    opened = new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
    socket.onopen = () => {
      state.textContent = "connected; subscribing to every topic";
      socket.send(JSON.stringify({ type: "subscribe" }));
      log.add('→ {"type":"subscribe"}', "sent");
    };
    socket.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      const text = msg.type === "event"
        ? `← event #${msg.event.id} ${msg.event.topic}/${msg.event.type}`
        : `← ${m.data.slice(0, 140)}`;
      log.add(text, msg.type === "event" ? "news" : msg.type === "error" ? "warn" : "");
    };
    socket.onclose = (c) => {
      state.textContent = `closed with code ${c.code}${c.reason ? ` (${c.reason})` : ""}; nothing reconnects unless your code does`;
      log.add(`closed ${c.code}`, "empty");
      socket = null;
      toggle.textContent = "Connect";
      toggle.setAttribute("aria-pressed", "false");
    };
    toggle.textContent = "Disconnect";
    toggle.setAttribute("aria-pressed", "true");
  };
  const stop = () => { socket?.close(1000, "done"); };
  const send = (text) => {
    if (!socket || socket.readyState !== WebSocket.OPEN) { log.add("not connected", "warn"); return; }
    socket.send(text);
    log.add(`→ ${text}`, "sent");
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") send(input.value); });
  const presets = el("div", { class: "widget-controls small" },
    ...[['{"type":"ping"}', "ping"], ['{"type":"echo","data":"hello"}', "echo"], ['{"type":"chat","text":"hi everyone"}', "chat"],
      ['{"type":"publish","topic":"demo","event":"note","data":{"text":"from a socket"}}', "publish"]]
      .map(([json, label]) => button(label, () => { input.value = json; }, "ghost")));
  root.append(el("div", { class: "widget-controls" }, toggle, input, sendBtn), presets, state, log.node, codeBox(CODE));
  return { start, stop, send, ready: () => opened ?? Promise.resolve(), get running() { return socket !== null; } };
}
