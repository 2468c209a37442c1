// "Your traffic as arrows": the sequence diagram fed by the learner's own
// traffic stream, with the four clients and a publish button beside it so
// there is something to draw. Used by lesson 06 and the lab page.
//
// The diagram starts from the last minute of the log, then follows
// `GET /api/traffic/stream` from the newest entry it has. EventSource sends
// Last-Event-ID when it reconnects, so a dropped stream replays what it
// missed instead of leaving a hole in the picture.

import { getJson, sendJson } from "../api.js";
import { LongPollingClient, PollingClient, SseClient, WebSocketClient } from "../clients.js";
import { SequenceDiagram } from "../sequence.js";
import { button, el, status } from "./kit.js";

const WINDOW_MS = 60_000;

/** Follows the learner's log: the last `windowMs` of it, then live. Returns stop(). */
function followTraffic(diagram, state, windowMs) {
  let source = null;
  let stopped = false;
  let lastSeq = 0;
  const take = (e) => {
    if (e.seq <= lastSeq) return; // already drawn (a replay after reconnecting)
    lastSeq = e.seq;
    diagram.add(e);
  };
  (async () => {
    try {
      const page = await getJson("/api/traffic?limit=1000");
      const newest = page.entries.at(-1)?.at_ms ?? 0;
      lastSeq = page.entries.at(-1)?.seq ?? 0;
      for (const e of page.entries) if (e.at_ms > newest - windowMs) diagram.add(e);
    } catch (err) {
      state.textContent = `Could not read your traffic log (${err.message}); drawing new traffic only.`;
    }
    if (stopped) return;
    source = new EventSource(`/api/traffic/stream?since=${lastSeq}`);
    source.addEventListener("entry", (m) => take(JSON.parse(m.data)));
    source.addEventListener("reset", () => {
      // The server forgot the log (it restarted): its whole log follows.
      lastSeq = 0;
      diagram.clear();
    });
    source.onopen = () => { state.textContent = "Drawing your traffic live."; };
    source.onerror = () => { state.textContent = "Live updates interrupted; the browser reconnects by itself…"; };
  })();
  return () => {
    stopped = true;
    source?.close();
  };
}

export function mount(root) {
  const state = status("Connecting to your traffic log…");
  const clients = [
    new PollingClient({ intervalMs: 1000 }),
    new LongPollingClient(),
    new SseClient(),
    new WebSocketClient(),
  ];
  const running = () => clients.some((c) => c.running);
  const toggle = button("Start the four clients", () => (running() ? stopClients() : startClients()));
  toggle.setAttribute("aria-pressed", "false");
  /** `actor: "play"` when "show me" starts them: their traffic is watched, not done. */
  let actor = "learner";
  // The learner's own click takes over clients "show me" started.
  root.addEventListener("click", (e) => {
    if (!e.isTrusted || actor === "learner") return;
    actor = "learner";
    if (running()) startClients();
  }, true);
  const startClients = (opts = {}) => {
    actor = opts.actor ?? "learner";
    for (const c of clients) {
      if (c.running) c.stop();
      c.start(opts);
    }
    toggle.textContent = "Stop the four clients";
    toggle.setAttribute("aria-pressed", "true");
  };
  const stopClients = () => {
    for (const c of clients) if (c.running) c.stop();
    toggle.textContent = "Start the four clients";
    toggle.setAttribute("aria-pressed", "false");
  };
  const publishAs = async (actor) => {
    try {
      const r = await sendJson("POST", "/api/events", { topic: "demo", type: "note", data: { text: "Hello, arrows" } }, { actor });
      state.textContent = `Published event #${r.id}: watch it reach each column.`;
    } catch (err) {
      state.textContent = `Could not publish: ${err.message}`;
    }
  };
  const publish = button("Publish an event", () => publishAs("learner"), "ghost");
  const note = el("p", { class: "muted small" },
    "The clients poll every 1 s, long-poll, read an SSE stream and hold a WebSocket. Your other traffic — a lesson's widgets, Swagger UI, curl with your cookie — is drawn too.");
  const box = el("div", { class: "seq-box" });
  root.append(el("div", { class: "widget-controls" }, toggle, publish), state, note, box);
  const diagram = new SequenceDiagram(box, { windowMs: WINDOW_MS });
  const unfollow = followTraffic(diagram, state, WINDOW_MS);
  return {
    diagram,
    startClients,
    stopClients,
    /** Play mode presses a button by the label a lesson's `press` names, as play's. */
    async press(label, { actor = "learner" } = {}) {
      const action = {
        "Start the four clients": () => startClients({ actor }),
        "Publish an event": () => publishAs(actor),
      }[label];
      if (!action) throw new Error(`the sequence widget has no button "${label}"`);
      await action();
    },
    stop() {
      unfollow();
      stopClients();
      diagram.destroy();
    },
  };
}
