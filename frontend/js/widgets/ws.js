import { actorQuery } from "../clients.js";
import { connect, file } from "../clients/ws.js";
import { button, el, LogKind, messageLog, sourceBox, status } from "./kit.js";

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
    log.add(`→ ${text}`, LogKind.sent);
  };
  const start = ({ actor: who = "learner" } = {}) => {
    if (socket) return;
    const resume = lastId !== null;
    const s = connect({
      since: lastId,
      query: actorQuery(who),
      onOpen: (subscribe) => {
        state.textContent = resume ? `connected; resuming after event #${lastId}` : "connected; subscribing to every topic";
        unanswered.push(performance.now());
        log.add(`→ ${subscribe}`, LogKind.sent);
      },
      onMessage: (msg, text) => {
        if (msg.type === "event") lastId = msg.event.id;
        const sentAt = UNASKED.has(msg.type) ? undefined : unanswered.shift();
        const trip = sentAt === undefined ? "" : ` (answered in ${(performance.now() - sentAt).toFixed(1)} ms)`;
        const line = msg.type === "event"
          ? `← event #${msg.event.id} ${msg.event.topic}/${msg.event.type}`
          : `← ${text.slice(0, 140)}${trip}`;
        log.add(line, msg.type === "event" ? LogKind.news : msg.type === "error" ? LogKind.warn : LogKind.plain);
      },
      onClose: (code, reason) => {
        log.add(`closed ${code}`, LogKind.empty);
        if (socket !== s && socket !== null) return; // a newer socket owns the status line
        state.textContent = `closed with code ${code}${reason ? ` (${reason})` : ""}; nothing reconnects unless your code does`;
        if (socket === s) showClosed();
      },
    });
    socket = s;
    actor = who;
    unanswered = [];
    opened = new Promise((resolve) => s.addEventListener("open", resolve, { once: true }));
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
    if (!socket || socket.readyState !== WebSocket.OPEN) { log.add("not connected", LogKind.warn); return; }
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
  root.append(el("div", { class: "widget-controls" }, toggle, input, sendBtn), presets, state, log.node, sourceBox(file));
  return { start, stop, stopClients: stop, send, ready: () => opened ?? Promise.resolve(), get running() { return socket !== null; }, get actor() { return actor; } };
}
