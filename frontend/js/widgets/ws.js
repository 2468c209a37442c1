import { withActor } from "../clients.js";
import { button, codeBox, el, messageLog, status } from "./kit.js";

const CODE = `// ws:// on an http page, wss:// on an https page (which blocks ws://).
const scheme = location.protocol === "https:" ? "wss" : "ws";
let lastId = null;   // the last event seen: resuming needs nothing else
const ws = new WebSocket(\`\${scheme}://\${location.host}/api/ws\`);
ws.onopen = () => ws.send(JSON.stringify(
  lastId === null ? { type: "subscribe" } : { type: "subscribe", since: lastId }));
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);   // welcome, event, ack, pong, error…
  if (msg.type === "event") lastId = msg.event.id;
  show(msg);
};
ws.onclose = (c) => console.log("closed", c.code, c.reason);   // nothing reconnects by itself
// Sending is just as easy, in the other direction:
ws.send(JSON.stringify({ type: "ping" }));`;

// Messages the server sends on its own; every other one answers a message
// of ours, in order, so it is paired with the oldest unanswered send.
const UNASKED = new Set(["welcome", "event", "chat", "reset"]);

export function mount(root) {
  const log = messageLog("WebSocket messages");
  const state = status();
  let socket = null;
  let actor = "learner"; // whose socket it is: play mode's traffic is only "watched"
  let opened = null;
  let lastId = null;
  let unanswered = [];
  const input = el("input", { type: "text", value: '{"type":"ping"}', "aria-label": "Message to send (JSON)", spellcheck: "false", class: "mono grow" });
  const toggle = button("Connect", () => (socket ? stop() : start()));
  const sendBtn = button("Send", () => sendAsLearner(input.value), "ghost");
  toggle.dataset.client = "ws";
  input.dataset.action = "ws-message";
  sendBtn.dataset.action = "ws-send";
  const transmit = (text) => {
    socket.send(text);
    unanswered.push(performance.now());
    log.add(`→ ${text}`, "sent");
  };
  const start = ({ actor: who = "learner" } = {}) => {
    if (socket) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const s = new WebSocket(withActor(`${scheme}://${location.host}/api/ws`, who));
    socket = s;
    actor = who;
    unanswered = [];
    opened = new Promise((resolve) => s.addEventListener("open", resolve, { once: true }));
    s.onopen = () => {
      const resume = lastId !== null;
      state.textContent = resume ? `connected; resuming after event #${lastId}` : "connected; subscribing to every topic";
      transmit(JSON.stringify(resume ? { type: "subscribe", since: lastId } : { type: "subscribe" }));
    };
    s.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === "event") lastId = msg.event.id;
      const sentAt = UNASKED.has(msg.type) ? undefined : unanswered.shift();
      const trip = sentAt === undefined ? "" : ` (answered in ${(performance.now() - sentAt).toFixed(1)} ms)`;
      const text = msg.type === "event"
        ? `← event #${msg.event.id} ${msg.event.topic}/${msg.event.type}`
        : `← ${m.data.slice(0, 140)}${trip}`;
      log.add(text, msg.type === "event" ? "news" : msg.type === "error" ? "warn" : "");
    };
    s.onclose = (c) => {
      log.add(`closed ${c.code}`, "empty");
      if (socket !== s && socket !== null) return; // a newer socket owns the status line
      state.textContent = `closed with code ${c.code}${c.reason ? ` (${c.reason})` : ""}; nothing reconnects unless your code does`;
      if (socket === s) showClosed();
    };
    toggle.textContent = "Disconnect";
    toggle.setAttribute("aria-pressed", "true");
  };
  const showClosed = () => {
    socket = null;
    toggle.textContent = "Connect";
    toggle.setAttribute("aria-pressed", "false");
  };
  // Forgets the socket at once, so a start() right after opens a new one.
  const stop = () => {
    const s = socket;
    if (!s) return;
    showClosed();
    s.close(1000, "done");
  };
  const send = (text) => {
    if (!socket || socket.readyState !== WebSocket.OPEN) { log.add("not connected", "warn"); return; }
    transmit(text);
  };
  // The learner's own Send over play mode's socket would count as watched:
  // reconnect as the learner first.
  const sendAsLearner = async (text) => {
    if (socket && actor === "play") {
      stop();
      start();
      await opened;
    }
    send(text);
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") sendAsLearner(input.value); });
  const presets = el("div", { class: "widget-controls small" },
    ...[['{"type":"ping"}', "ping"], ['{"type":"echo","data":"hello"}', "echo"], ['{"type":"chat","text":"hi everyone"}', "chat"],
      ['{"type":"publish","topic":"demo","event":"note","data":{"text":"from a socket"}}', "publish"]]
      .map(([json, label]) => button(label, () => { input.value = json; }, "ghost")));
  root.append(el("div", { class: "widget-controls" }, toggle, input, sendBtn), presets, state, log.node, codeBox(CODE));
  return { start, stop, send, ready: () => opened ?? Promise.resolve(), get running() { return socket !== null; } };
}
