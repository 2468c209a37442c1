import { button, codeBox, el, messageLog, postJson } from "./kit.js";

const CODE = `await fetch("/api/events", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ topic: "demo", type: "note", data: { text } }),
});   // → 202 Accepted, {"id": 42, …}`;

export function mount(root) {
  const log = messageLog("Published events");
  const input = el("input", { type: "text", value: "Hello from the lesson", maxlength: "500", "aria-label": "Text to publish", class: "grow" });
  const publish = async (text = input.value) => {
    try {
      const r = await postJson("/api/events", { topic: "demo", type: "note", data: { text } });
      log.add(`published as event #${r.id}`, "news");
    } catch (err) {
      log.add(err.message, "warn");
    }
  };
  root.append(el("div", { class: "widget-controls" }, input, button("Publish", () => publish())), log.node, codeBox(CODE));
  return { publish };
}
