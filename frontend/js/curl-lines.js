// "Your traffic from a terminal": ready-to-paste curl lines carrying the
// learner's own id in X-Learner, so terminal requests land in this same log.
// The id comes from the server (GET /api/traffic's `learner`): the cookie is
// HttpOnly, so the page cannot read it, and showing the id to its owner is fine.

import { el } from "./dom.js";

const PATHS = [
  ["-N", "/api/sse", "Stream events (Ctrl-C to stop)"],
  ["-i", "/api/poll", "Poll once, with the answer's headers"],
];

/** Copies `text`; falls back to selecting `node` and the old copy command. */
async function copy(text, node) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return document.execCommand?.("copy") ?? false;
  }
}

/** The box; call setLearner(id) once the id is known. `open`: expanded at first. */
export function curlLines({ open = true } = {}) {
  const said = el("p", { class: "curl-said muted small", role: "status" });
  const lines = PATHS.map(([flag, path, purpose]) => {
    const code = el("code", { text: "" });
    const copyButton = el("button", { type: "button", class: "ghost", disabled: "", text: "Copy" });
    copyButton.setAttribute("aria-label", `Copy: ${purpose}`);
    copyButton.addEventListener("click", async () => {
      said.textContent = "";
      const ok = await copy(code.textContent, code);
      said.textContent = ok ? "Copied" : "Could not copy: select the line and copy it by hand.";
    });
    const row = el("div", { class: "curl-line" }, el("pre", {}, code), copyButton);
    return { code, copyButton, row, command: (id) => `curl ${flag} -H 'X-Learner: ${id}' ${location.origin}${path}` };
  });
  const body = el("div", { class: "curl-body" },
    el("p", { class: "muted small", text: "Paste a line into a terminal: the X-Learner header files its requests under your id, in this log." }),
    ...lines.map((l) => l.row), said);
  const node = el("details", { class: "curl-lines" }, el("summary", { text: "Your traffic from a terminal (curl)" }), body);
  if (open) node.open = true;
  for (const l of lines) l.code.textContent = l.command("…");
  return {
    node,
    setLearner(id) {
      for (const l of lines) {
        l.code.textContent = l.command(id);
        l.copyButton.disabled = false;
      }
    },
  };
}
