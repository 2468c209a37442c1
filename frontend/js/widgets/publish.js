import { sendJson } from "../api.js";
import { button, codeBox, el, LogKind, messageLog } from "./kit.js";

const CODE = `await fetch("/api/events", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ topic: "demo", type: "note", data: { text } }),
});   // → 202 Accepted, {"id": 42, …}`;

export function mount(root) {
  const log = messageLog("Published events");
  const input = el("input", { type: "text", value: "Hello from the lesson", maxlength: "500", "aria-label": "Text to publish", class: "grow" });
  const state = el("p", { class: "muted small", role: "status" });
  const publish = async (text = input.value) => {
    try {
      const r = await sendJson("POST", "/api/events", { topic: "demo", type: "note", data: { text } });
      state.textContent = `Published as event #${r.id} (topic demo).`;
      log.add(`published as event #${r.id}`, LogKind.news);
    } catch (err) {
      state.textContent = `Not published: ${err.message}`;
      log.add(err.message, LogKind.warn);
    }
  };
  const send = button("Publish", () => publish());
  // The same marks as the stage's form, for the browser suite's learner.
  input.dataset.action = "publish-text";
  send.dataset.action = "publish";
  root.append(el("div", { class: "widget-controls" }, input, send), state, log.node, codeBox(CODE));
  return { publish };
}
