// What an exercise's scenario can do to the learner's running code, through
// the same API a learner has: publish, pause the feeds, cut connections,
// make streams half-open, switch faults. Each call carries the run's actor,
// so a "show me" run counts as watched.

import { sendJson } from "../api.js";

const send = (method, path, body, actor) => sendJson(method, path, body, { actor });

/** The helpers a scenario gets for one run. */
export function scenarioKit({ actor, signal, say }) {
  const wait = (ms) => new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error("the run ended"));
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(t); reject(new Error("the run ended")); }, { once: true });
  });
  return {
    say,
    wait,
    async pauseFeeds() {
      for (const feed of ["ticker", "notifications"]) await send("PATCH", `/api/feeds/${feed}`, { running: false }, actor);
      say("paused the built-in feeds, so only this scenario's events flow");
    },
    async publish(text) {
      const r = await send("POST", "/api/events", { topic: "demo", type: "note", data: { text } }, actor);
      say(`published event #${r.id} (${text})`);
      return r.id;
    },
    async halfOpen(closeAfterS) {
      const r = await send("POST", "/api/faults/half-open", { close_after_s: closeAfterS }, actor);
      say(`made ${r.frozen ?? "your"} stream(s) half-open: nothing more arrives on them, and nothing tells the browser`);
    },
    async dropWebSockets() {
      const r = await send("POST", "/api/connections/drop", { transport: "websocket" }, actor);
      say(`the server dropped ${r.dropped} WebSocket(s)`);
    },
    async faults(switches) {
      await send("PUT", "/api/faults", switches, actor);
    },
  };
}
