// The stage under a transport lesson's widget: the feeds and a publish box,
// always on the page, so every step that says "turn the ticker on" or
// "publish an event" has the control right there.

import { initFeeds } from "./feeds.js";
import { el } from "./dom.js";
import { sendJson } from "./api.js";

export function mountStage(root) {
  const feeds = el("ul", { class: "feeds compact", "aria-label": "Feeds" });
  const feedState = el("p", { class: "muted small", role: "status", text: "Loading feeds…" });
  const text = el("input", { type: "text", value: "Hello from the lesson", maxlength: "500", "aria-label": "Text to publish", class: "grow" });
  const published = el("p", { class: "muted small", role: "status" });
  const publish = el("button", { type: "submit", text: "Publish", "data-action": "publish" });
  text.dataset.action = "publish-text";
  const form = el("form", { class: "widget-controls" }, text, publish);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await sendJson("POST", "/api/events", { topic: "demo", type: "note", data: { text: text.value } });
      published.textContent = `Published as event #${r.id} (topic demo).`;
    } catch (err) {
      published.textContent = `Not published: ${err.message}`;
    }
  });
  const box = el("details", { class: "stage", open: "" },
    el("summary", { text: "Feeds and publishing" }),
    el("h4", { class: "small", text: "Feeds" }), feeds, feedState,
    el("h4", { class: "small", text: "Publish an event" }), form, published);
  root.append(box);
  // Refreshed when play mode changes a feed, not on a timer: every status
  // request would land in the learner's traffic log.
  const ready = initFeeds(feeds, feedState);
  const onChange = () => ready.then((refresh) => refresh()).catch(() => {});
  window.addEventListener("playground:feeds", onChange);
  return { stop: () => window.removeEventListener("playground:feeds", onChange) };
}
