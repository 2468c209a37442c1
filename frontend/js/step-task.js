// The task box under a lesson step: predict → measure → explain, the checks
// counted in this step's window (yours, and what "show me" did), progressive
// hints, "show me" and "start this step over". Built once per step; refresh()
// only updates the parts that change, so typing a prediction is never lost.

import { getJson, sendJson } from "./api.js";
import { el } from "./dom.js";

const base = (slug, step) => `/api/lessons/${encodeURIComponent(slug)}/steps/${encodeURIComponent(step)}`;

export function mountStepTask(root, { slug, step, onShowMe, onProgress }) {
  const heading = el("h3", { text: "Your turn" });
  const state = el("p", { class: "task-state small", text: "" });
  const checks = el("ul", { class: "checklist" });
  const hintList = el("ol", { class: "hints", "aria-label": "Hints" });
  const hintButton = el("button", { type: "button", class: "ghost" });
  const showButton = el("button", { type: "button", class: "ghost", text: "▶ Show me" });
  const overButton = el("button", { type: "button", class: "ghost", text: "Start this step over" });
  const message = el("p", { class: "muted small", role: "status" });
  const actions = el("div", { class: "task-actions" }, hintButton, showButton, overButton);
  const prediction = step.predict ? predictionBox() : null;
  const measure = step.predict ? el("h4", { text: "2. Measure" }) : null;
  root.replaceChildren(el("section", { class: "step-task", "aria-label": "Your turn" },
    heading, prediction?.node, measure, checks, state, actions, hintList, message));

  let last = null;
  let hintsShown = 0;

  hintButton.hidden = step.hints === 0;
  showButton.hidden = step.play.length === 0;
  hintButton.addEventListener("click", async () => {
    try {
      const r = await sendJson("POST", `${base(slug, step.id)}/hints`);
      renderHints(r.hints);
      message.textContent = `Hint ${r.hints.length} of ${r.total}. Using hints is fine; the lesson list shows which steps you did on your own.`;
      onProgress?.();
    } catch (err) {
      message.textContent = err.message;
    }
  });
  showButton.addEventListener("click", async () => {
    try {
      await sendJson("POST", `${base(slug, step.id)}/shown`);
    } catch (err) {
      message.textContent = err.message;
      return;
    }
    onShowMe();
  });
  overButton.addEventListener("click", async () => {
    try {
      const p = await sendJson("POST", `${base(slug, step.id)}/enter`);
      message.textContent = p.done
        ? "This step stays done; its counters start again from now."
        : "Its counters start again from now: only what you do from here counts.";
      refresh(p);
    } catch (err) {
      message.textContent = err.message;
    }
  });

  function renderHints(hints) {
    hintsShown = hints.length;
    hintList.replaceChildren(...hints.map((h) => {
      const li = el("li", { class: "hint" });
      // Rendered and sanitized by the server from the lesson's markdown.
      li.innerHTML = h.html;
      return li;
    }));
    updateHintButton();
  }

  function updateHintButton() {
    const left = step.hints - hintsShown;
    hintButton.textContent = hintsShown === 0 ? `Hint (${step.hints})` : left > 0 ? `Next hint (${left} left)` : "No more hints";
    hintButton.disabled = left <= 0;
  }
  updateHintButton();

  function predictionBox() {
    const input = el("input", { type: "number", min: "0", max: "1000000", step: "any", inputmode: "decimal", id: `predict-${step.id}`, class: "predict-input" });
    const save = el("button", { type: "submit", text: "Save my prediction" });
    const saved = el("p", { class: "small", role: "status" });
    const result = el("p", { class: "predict-result" });
    const form = el("form", { class: "predict" },
      el("label", { for: input.id, text: step.predict.question }),
      el("div", { class: "widget-controls" }, input, el("span", { class: "muted small", text: step.predict.unit }), save),
      saved);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const value = Number(input.value);
      if (input.value === "" || !Number.isFinite(value)) {
        saved.textContent = "Type a number first.";
        return;
      }
      try {
        const p = await sendJson("PUT", `${base(slug, step.id)}/prediction`, { value });
        saved.textContent = `Saved: ${value} ${step.predict.unit}. Now measure it.`;
        refresh(p);
      } catch (err) {
        saved.textContent = err.message;
      }
    });
    const node = el("div", { class: "predict-box" }, el("h4", { text: "1. Predict" }), form, result);
    return {
      node,
      update(p) {
        const pred = p?.prediction;
        if (pred && !input.value && document.activeElement !== input) input.value = String(pred.value);
        form.hidden = Boolean(p?.done);
        if (p?.done && pred?.sentence) {
          result.textContent = pred.sentence;
        } else if (p?.done && !pred) {
          result.textContent = "Done without a prediction. Next time, guess first: the gap between guess and measurement is where the learning is.";
        } else {
          result.textContent = pred ? "" : "Guess before you measure; the page puts your guess beside the measurement.";
        }
      },
    };
  }

  function refresh(p) {
    if (p === undefined) return;
    last = p;
    const done = Boolean(p?.done);
    // Not entered: the server has not opened this step's window (entering was refused).
    const entered = p?.entered !== false;
    heading.textContent = done ? (p.helped ? "Done ✓ with help" : "Done ✓ on your own") : p?.watched ? "Watched — now you try" : "Your turn";
    root.classList.toggle("is-done", done);
    state.textContent = done
      ? ""
      : !entered
        ? "This step's counters have not started yet: press Start this step over."
        : p?.watched
        ? "Play mode showed you this step; it counts as watched. The step ticks when your own traffic does it."
        : "Counted from your own traffic since you entered this step.";
    checks.replaceChildren(...step.checks.map((c, i) => {
      const live = p?.checks?.[i];
      const watched = live?.watched_value ? ` · show me: ${live.watched_value}` : "";
      const you = live ? live.value : 0;
      if (c.budget) {
        // A budget holds before the learner acts: it is a limit, not progress.
        const over = live && entered && !live.done && !done;
        return el("li", { class: over ? "over" : "budget" },
          el("span", { class: "mark", "aria-hidden": "true", text: over ? "✗" : "≤" }),
          el("span", { text: `${c.description}: you ${you} (budget: ${c.text}${over ? ", over budget: press Start this step over" : ""})${watched}` }));
      }
      const ok = done || live?.done;
      return el("li", { class: ok ? "good" : "" },
        el("span", { class: "mark", "aria-hidden": "true", text: ok ? "✓" : "○" }),
        el("span", { text: `${c.description}: you ${you} (goal: ${c.text})${watched}` }));
    }));
    prediction?.update(p);
    if (p?.hints_used > hintsShown) {
      getJson(`${base(slug, step.id)}/hints`).then((r) => renderHints(r.hints)).catch(() => {});
    }
  }

  /** Says why something the page did for the learner failed (e.g. entering the step). */
  function notice(text) {
    message.textContent = text;
  }

  return { refresh, notice, get progress() { return last; } };
}
