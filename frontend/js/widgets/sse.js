import { sendJson } from "../api.js";
import { actorQuery } from "../clients.js";
import { file, openStream, STREAM } from "../clients/sse.js";
import { button, el, LogKind, messageLog, sourceBox, status } from "./kit.js";

export function mount(root) {
  const log = messageLog("Events received");
  const state = status();
  let source = null;
  let actor = "learner"; // whose stream it is: play mode's traffic is only "watched"
  let count = 0;
  const show = (e, lastId) => {
    count += 1;
    log.add(`#${lastId} ${e.topic}/${e.type} ${JSON.stringify(e.data).slice(0, 90)}`, LogKind.news);
    state.textContent = `stream open — ${count} event(s), last id #${lastId}`;
  };
  const toggle = button("Open the stream", () => (source ? stop() : start()));
  toggle.dataset.client = "sse";
  const cut = async (who) => {
    const r = await sendJson("POST", "/api/connections/drop", { transport: "sse" }, { actor: who });
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
  const drop = button("Drop my connection (server side)", () => dropAsLearner().catch((e) => log.add(e.message, LogKind.warn)), "ghost");
  drop.dataset.action = "drop-sse";
  const start = ({ actor: who = "learner" } = {}) => {
    if (source) return;
    const s = openStream({
      query: actorQuery(who),
      onEvent: show,
      onStatus: (what, message) => {
        if (what === STREAM.open) {
          state.textContent = `stream open — ${count} event(s) so far`;
          log.add("stream open");
        } else if (what === STREAM.closedForGood) {
          // A non-200 answer or a wrong Content-Type: EventSource never retries.
          log.add("closed for good: the answer was not a 200 event stream, so the browser will not retry", LogKind.warn);
          if (source === s) stop("closed for good (the server's answer was not a 200 event stream); open it again yourself");
        } else if (what === STREAM.reconnecting) {
          state.textContent = "connection lost — the browser retries by itself after the retry delay…";
          log.add("connection lost; the browser retries with Last-Event-ID", LogKind.empty);
        } else if (what === STREAM.reset) {
          log.add(`reset: ${message}`, LogKind.warn);
        }
      },
    });
    source = s;
    actor = who;
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
  root.append(el("div", { class: "widget-controls" }, toggle, drop), state, log.node, sourceBox(file));
  return { start, stop, stopClients: stop, drop: (actor) => cut(actor), get running() { return source !== null; } };
}
