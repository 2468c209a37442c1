// The editor with its controls: Run, Stop, Undo, "Reset to the original",
// the code's console beside it and a status line with its caps. Used by the
// transport widgets' "Edit and run this code" and by the exercises.
//
// A run is the code in a sandbox (./sandbox.js) and, for an exercise, a
// scenario the page plays against it at the same time (publishing events,
// switching a fault on): the run ends when the scenario ends, when the
// learner presses Stop, or at the time cap.

import { el } from "../dom.js";
import { createEditor } from "./code-editor.js";
import { Ended, Sandbox } from "./sandbox.js";

let ids = 0;

const ENDINGS = {
  [Ended.Stopped]: "stopped",
  [Ended.TimeUp]: "stopped: the run reached its time cap",
  [Ended.Frozen]: "stopped: the code held the thread for over 3 s (a loop that never awaits?)",
  [Ended.Replaced]: "stopped: a new run started",
  finished: "finished",
};

/**
 * `code`: the text to edit; `original`: what Reset brings back (default:
 * `code`). `scenario({ actor, say, signal })`, if given, runs beside the
 * code and ends the run when it resolves. `limits`: { runMs, maxOpen, maxRequests }.
 * `onShown({ id, text }, actor)`, if given, gets each message the code shows
 * with `show(id, text)` (and the console lists it).
 */
export function mountCodeRunner({ code, original = code, label, limits = {}, scenario = null, onEnded = () => {}, onShown = null }) {
  const id = `runner-${++ids}`;
  const help = el("p", { class: "runner-help muted small", id: `${id}-help`,
    text: "Tab indents · Esc leaves the editor · Ctrl+Enter (⌘+Enter) runs · Ctrl+Z undoes" });
  const box = el("div", { class: "runner-editor" });
  const runButton = el("button", { type: "button", text: "▶ Run", "data-action": "run-code" });
  const stopButton = el("button", { type: "button", class: "ghost", text: "■ Stop", disabled: true, "data-action": "stop-code" });
  const undoButton = el("button", { type: "button", class: "ghost", text: "Undo", "data-action": "undo-code" });
  const resetButton = el("button", { type: "button", class: "ghost", text: "Reset to the original", "data-action": "reset-code" });
  const state = el("p", { class: "runner-state small", role: "status", text: "Not running. Edit the code, then press Run." });
  const output = el("ol", { class: "sandbox-console", tabindex: "0", "aria-label": `Console of ${label}`, "aria-live": "off" });
  const node = el("section", { class: "code-runner", "aria-label": `Edit and run: ${label}` },
    help, box, el("div", { class: "runner-bar" }, runButton, stopButton, undoButton, resetButton), state,
    el("h4", { class: "small", text: "Console (your code's console.log, errors and the sandbox's notes)" }), output);

  const editor = createEditor(box, {
    doc: code,
    label: `Code editor: ${label}`,
    describedBy: help.id,
    onEscape: () => runButton.focus(),
    onRun: () => run(),
  });

  // Tests read the whole text here (the editor renders only what is in view).
  node.editorText = () => editor.text;

  const print = (text, cls = "") => {
    output.append(el("li", { class: cls, text }));
    while (output.children.length > 200) output.firstElementChild.remove();
    output.scrollTop = output.scrollHeight;
  };
  let counts = { open: 0, requests: 0 };
  let refused = 0;
  const sandbox = new Sandbox({
    limits,
    onMessage: (m) => {
      if (m.type === "console") print(m.text, m.level);
      else if (m.type === "crash") print(`Error: ${m.text}`, "crash");
      else if (m.type === "cap") { refused = m.refused; print(`sandbox: ${m.what} refused — the cap is ${m.why}`, "cap"); }
      else if (m.type === "count") counts = m;
      else if (m.type === "shown" && onShown) {
        print(`shown: #${m.id} ${m.text}`, "shown");
        onShown({ id: m.id, text: m.text }, currentActor);
      }
    },
  });
  const caps = sandbox.limits;

  let controller = null;
  let ticker = null;
  let currentActor = "learner";
  async function run({ actor = "learner" } = {}) {
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    currentActor = actor;
    output.replaceChildren();
    counts = { open: 0, requests: 0 };
    refused = 0;
    const started = performance.now();
    print(`sandbox: running${actor === "play" ? " (show me)" : ""}; at most ${caps.maxOpen} connections open at once, ${caps.maxRequests} in all, ${caps.runMs / 1000} s`, "system");
    runButton.disabled = true;
    stopButton.disabled = false;
    const describe = () => {
      const left = Math.max(0, Math.round((caps.runMs - (performance.now() - started)) / 1000));
      state.textContent = `Running: ${counts.open} connections open, ${counts.requests} opened in all${refused ? `, ${refused} refused` : ""}; ${left} s left.`;
    };
    describe();
    clearInterval(ticker);
    ticker = setInterval(describe, 1000);
    const ran = sandbox.run(editor.text, { actor });
    if (scenario) {
      scenario({ actor, signal, say: (text) => print(`scenario: ${text}`, "system") })
        .then(() => sandbox.end("finished"), (err) => { print(`scenario: ${err.message}`, "warn"); sandbox.end("finished"); });
    }
    const why = await ran;
    if (controller?.signal === signal) {
      controller.abort();
      controller = null;
    }
    clearInterval(ticker);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    state.textContent = `Run ${ENDINGS[why] ?? why} after ${seconds} s: ${counts.requests} connections and requests opened${refused ? `, ${refused} refused by the sandbox` : ""}.`;
    print(`sandbox: ${ENDINGS[why] ?? why}; every connection the code opened is closed`, "system");
    runButton.disabled = false;
    stopButton.disabled = true;
    onEnded(why);
    return why;
  }

  runButton.addEventListener("click", () => run());
  stopButton.addEventListener("click", () => { sandbox.stop(); runButton.focus(); });
  undoButton.addEventListener("click", () => { editor.undo(); });
  resetButton.addEventListener("click", () => {
    editor.text = original;
    state.textContent = "The original code is back (Undo brings your version back).";
  });

  return {
    node,
    editor,
    run,
    stop: () => sandbox.stop(),
    get running() { return sandbox.running; },
  };
}
