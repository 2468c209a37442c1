import { withActor } from "../clients.js";
import { button, codeBox, el, messageLog, postJson, status } from "./kit.js";

const CODE = `const source = new EventSource("/api/sse");
source.onopen = () => console.log("stream open");
// Each event type arrives under its own name (the "event:" field).
source.addEventListener("price", (m) => show(m.lastEventId, m.data));
source.addEventListener("notification", (m) => show(m.lastEventId, m.data));
source.onmessage = (m) => show(m.lastEventId, m.data);   // events without a type
source.addEventListener("reset", (m) => warn(JSON.parse(m.data).message));
// On a drop the browser reconnects by itself, sending Last-Event-ID.
source.onerror = () => console.log("reconnecting…");`;

// "message" (no event: field) is handled by onmessage.
const TYPES = ["price", "notification", "note", "greeting", "test", "chat"];

export function mount(root) {
  const log = messageLog("Events received");
  const state = status();
  let source = null;
  let count = 0;
  const show = (m) => {
    count += 1;
    const e = JSON.parse(m.data);
    log.add(`#${m.lastEventId} ${e.topic}/${e.type} ${JSON.stringify(e.data).slice(0, 90)}`, "news");
    state.textContent = `stream open — ${count} event(s), last id #${m.lastEventId}`;
  };
  const toggle = button("Open the stream", () => (source ? stop() : start()));
  toggle.dataset.client = "sse";
  const cut = async (actor) => {
    const r = await postJson(withActor("/api/connections/drop", actor), { transport: "sse" });
    log.add(`asked the server to cut the stream (${r.dropped} cut); watch the browser reconnect with Last-Event-ID`);
  };
  const drop = button("Drop my connection (server side)", () => cut("learner"), "ghost");
  drop.dataset.action = "drop-sse";
  const start = ({ actor = "learner" } = {}) => {
    if (source) return;
    source = new EventSource(withActor("/api/sse", actor));
    source.onopen = () => { state.textContent = `stream open — ${count} event(s) so far`; log.add("stream open"); };
    source.onerror = () => { state.textContent = "connection lost — the browser reconnects by itself…"; log.add("connection lost; reconnecting", "empty"); };
    source.onmessage = show;
    for (const t of TYPES) source.addEventListener(t, show);
    source.addEventListener("reset", (m) => log.add(`reset: ${JSON.parse(m.data).message}`, "warn"));
    toggle.textContent = "Close the stream";
    toggle.setAttribute("aria-pressed", "true");
  };
  const stop = () => {
    source?.close();
    source = null;
    state.textContent = "closed (a closed EventSource does not reconnect)";
    toggle.textContent = "Open the stream";
    toggle.setAttribute("aria-pressed", "false");
  };
  root.append(el("div", { class: "widget-controls" }, toggle, drop), state, log.node, codeBox(CODE));
  return { start, stop, drop: (actor) => cut(actor), get running() { return source !== null; } };
}
