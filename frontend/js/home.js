// Home page: wires the views together.

import { initTheme } from "./theme.js";
import { initFeeds } from "./feeds.js";
import { initTail } from "./tail.js";
import { initWsTry } from "./ws-try.js";
import { sendJson } from "./api.js";
import { armControls } from "./dom.js";

const $ = (id) => document.getElementById(id);

initTheme($("theme"));

for (const el of document.querySelectorAll("[data-origin]")) el.textContent = location.origin;
for (const el of document.querySelectorAll("[data-ws-origin]")) {
  el.textContent = location.origin.replace(/^http/, "ws");
}

const refreshFeeds = await initFeeds($("feeds"), $("hub-status"));

// Refresh the counters at most every 2 s while events flow, not per event.
let pending = null;
initTail($("tail"), () => {
  pending ??= setTimeout(() => {
    pending = null;
    refreshFeeds();
  }, 2000);
});

initWsTry($("ws-try"), $("ws-result"));

$("publish").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const out = $("publish-result");
  try {
    const res = await sendJson("POST", "/api/events", {
      topic: form.get("topic"),
      type: "message",
      data: { text: form.get("text") },
    });
    out.textContent = `Published as event #${res.id}.`;
  } catch (err) {
    out.textContent = err.message;
  }
});

armControls();
