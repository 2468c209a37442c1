import { withActor } from "../clients.js";
import { button, codeBox, el, messageLog, postJson, status } from "./kit.js";

const CODE = `const source = new EventSource("/api/sse");
source.onopen = () => console.log("stream open");
// Each event type arrives under its own name (the "event:" field).
source.addEventListener("price", (m) => show(m.lastEventId, m.data));
source.addEventListener("notification", (m) => show(m.lastEventId, m.data));
source.onmessage = (m) => show(m.lastEventId, m.data);   // events without a type
source.addEventListener("reset", (m) => warn(JSON.parse(m.data).message));
source.onerror = () => {
  // After a dropped connection the browser retries by itself, sending
  // Last-Event-ID. After an answer that is not a 200 text/event-stream
  // (a 502 during a deploy, a 401) it gives up for good: CLOSED.
  if (source.readyState === EventSource.CLOSED) console.log("closed for good; reopen it yourself");
  else console.log("reconnecting…");
};`;

// "message" (no event: field) is handled by onmessage.
const TYPES = ["price", "notification", "note", "greeting", "test", "chat"];

export function mount(root) {
  const log = messageLog("Events received");
  const state = status();
  let source = null;
  let actor = "learner"; // whose stream it is: play mode's traffic is only "watched"
  let count = 0;
  const show = (m) => {
    count += 1;
    const e = JSON.parse(m.data);
    log.add(`#${m.lastEventId} ${e.topic}/${e.type} ${JSON.stringify(e.data).slice(0, 90)}`, "news");
    state.textContent = `stream open — ${count} event(s), last id #${m.lastEventId}`;
  };
  const toggle = button("Open the stream", () => (source ? stop() : start()));
  toggle.dataset.client = "sse";
  const cut = async (who) => {
    const r = await postJson(withActor("/api/connections/drop", who), { transport: "sse" });
    log.add(`asked the server to cut the stream (${r.dropped} cut); watch the browser reconnect with Last-Event-ID`);
  };
  // The learner's own drop of play mode's stream would reconnect as play
  // mode's: reopen it as the learner's first.
  const dropAsLearner = async () => {
    if (source && actor === "play") {
      stop();
      start();
      await new Promise((resolve) => source.addEventListener("open", resolve, { once: true }));
    }
    await cut("learner");
  };
  const drop = button("Drop my connection (server side)", () => dropAsLearner().catch((e) => log.add(e.message, "warn")), "ghost");
  drop.dataset.action = "drop-sse";
  const start = ({ actor: who = "learner" } = {}) => {
    if (source) return;
    const s = new EventSource(withActor("/api/sse", who));
    source = s;
    actor = who;
    s.onopen = () => { state.textContent = `stream open — ${count} event(s) so far`; log.add("stream open"); };
    s.onerror = () => {
      if (s.readyState === EventSource.CLOSED) {
        // A non-200 answer or a wrong Content-Type: EventSource never retries.
        log.add("closed for good: the answer was not a 200 event stream, so the browser will not retry", "warn");
        if (source === s) stop("closed for good (the server's answer was not a 200 event stream); open it again yourself");
        return;
      }
      state.textContent = "connection lost — the browser retries by itself after the retry delay…";
      log.add("connection lost; the browser retries with Last-Event-ID", "empty");
    };
    s.onmessage = show;
    for (const t of TYPES) s.addEventListener(t, show);
    s.addEventListener("reset", (m) => log.add(`reset: ${JSON.parse(m.data).message}`, "warn"));
    toggle.textContent = "Close the stream";
    toggle.setAttribute("aria-pressed", "true");
  };
  const stop = (why = "closed (a closed EventSource does not reconnect)") => {
    source?.close();
    source = null;
    state.textContent = why;
    toggle.textContent = "Open the stream";
    toggle.setAttribute("aria-pressed", "false");
  };
  root.append(el("div", { class: "widget-controls" }, toggle, drop), state, log.node, codeBox(CODE));
  return { start, stop, drop: (actor) => cut(actor), get running() { return source !== null; } };
}
