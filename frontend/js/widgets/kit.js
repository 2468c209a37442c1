// Shared building blocks for the live widgets: DOM helpers, a message log
// with timestamps, and the "this is the code that runs" box.

import { clock } from "../format.js";
import { el } from "../dom.js";

export { el };

export function button(text, onclick, cls = "") {
  return el("button", { type: "button", class: cls, onclick, text });
}

/** The code box: what the widget runs, verbatim. */
export function codeBox(code) {
  return el("details", { class: "widget-code" },
    el("summary", { text: "The browser code this runs" }),
    el("pre", { class: "code" }, el("code", { text: code })));
}

/** A bounded list of received messages, newest first, each timestamped. */
export function messageLog(label) {
  // Scrolls: focusable, so a keyboard can scroll it too.
  const list = el("ol", { class: "widget-log", "aria-label": label, "aria-live": "off", tabindex: "0" });
  return {
    node: list,
    add(text, cls = "") {
      list.prepend(el("li", { class: cls },
        el("time", { text: clock(Date.now()) }),
        el("span", { text })));
      while (list.children.length > 50) list.lastElementChild.remove();
    },
    clear() { list.replaceChildren(); },
  };
}

export function status(text = "idle") {
  return el("p", { class: "widget-status muted small", "aria-live": "polite", text });
}

export async function postJson(path, body, method = "POST") {
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(data?.detail ?? `${res.status}`);
  return data;
}
