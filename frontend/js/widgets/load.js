// The load lab inside a lesson: a few numbers, one button, and what each kind
// of connection cost the server (the same view as on the lab page).

import { el } from "./kit.js";
import { initLoadLab } from "../load-lab.js";

function field(label, name, value, attrs = {}) {
  return el("label", {}, label, " ",
    el("input", { name, type: "number", value: String(value), required: "", ...attrs }));
}

export function mount(root) {
  const status = el("output", { class: "muted small", "aria-live": "polite" });
  const result = el("div", { class: "load-result" },
    el("p", { class: "muted", text: "Run it: the clients connect, then the server is measured for the time you chose." }));
  const form = el("form", { class: "race-form" },
    field("SSE clients", "sse", 1000, { min: "0", max: "2000" }),
    field("WebSocket clients", "websockets", 1000, { min: "0", max: "2000" }),
    field("Pollers (every 1 s)", "pollers", 200, { min: "0", max: "2000" }),
    field("Measure for (s)", "duration_s", 10, { min: "3", max: "30" }),
    el("input", { type: "hidden", name: "long_pollers", value: "0" }),
    el("input", { type: "hidden", name: "poll_interval_ms", value: "1000" }),
    el("input", { type: "hidden", name: "rate", value: "10" }),
    el("button", { type: "submit", text: "Run the load test" }),
    status);
  root.append(form, result);
  initLoadLab(form, status, result);
}
