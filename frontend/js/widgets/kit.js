// Shared building blocks for the live widgets: DOM helpers, a message log
// with timestamps, and the "this is the code that runs" box.

import { getText } from "../api.js";
import { clock } from "../format.js";
import { el } from "../dom.js";

export { el };

export function button(text, onclick, cls = "") {
  return el("button", { type: "button", class: cls, onclick, text });
}

/** The code box: a snippet, verbatim (for widgets whose code is a request or two). */
export function codeBox(code) {
  return el("details", { class: "widget-code" },
    el("summary", { text: "The browser code this runs" }),
    el("pre", { class: "code" }, el("code", { text: code })));
}

/**
 * The code box of a client the widget runs: the text of the module file
 * itself (its `file` export is its own URL), fetched, so what is shown is
 * what runs. "Edit and run" opens it in the editor, run in a sandbox.
 */
export function sourceBox(file, title = "The browser code this runs") {
  const code = el("code", { "data-source": new URL(file).pathname, text: "loading…" });
  const box = el("details", { class: "widget-code" },
    el("summary", { text: `${title} (${new URL(file).pathname})` }),
    el("pre", { class: "code" }, code));
  const edit = button("Edit and run this code", async () => {
    edit.disabled = true;
    const { mountCodeRunner } = await import("../editor/runner.js");
    box.append(mountCodeRunner({ code: code.textContent, label: new URL(file).pathname }).node);
    edit.remove();
  }, "ghost");
  edit.dataset.action = "edit-source";
  box.append(edit);
  getText(file).then((text) => { code.textContent = text; }, () => { code.textContent = "(could not load the file)"; });
  return box;
}

/** What a log line is, passed beside its text: its style (and tests) read this, never the words. */
export const LogKind = Object.freeze({
  plain: "plain",
  news: "news", // something arrived
  empty: "empty", // an answer without news, a close
  warn: "warn", // an error, a loss, a refusal
  sent: "sent", // what this page sent
});
const KINDS = new Set(Object.values(LogKind));

/** A bounded list of received messages, newest first, each timestamped. */
export function messageLog(label) {
  // Scrolls: focusable, so a keyboard can scroll it too.
  const list = el("ol", { class: "widget-log", "aria-label": label, "aria-live": "off", tabindex: "0" });
  return {
    node: list,
    add(text, kind = LogKind.plain) {
      if (!KINDS.has(kind)) throw new TypeError(`not a LogKind: ${kind}`);
      list.prepend(el("li", { class: kind === LogKind.plain ? "" : kind, "data-kind": kind },
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
