// The decision exercise: for each scenario, name what decides it, then pick
// the technique. Both are judged on the server; the feedback says which
// part was right and why.

import { sendJson } from "../api.js";
import { el } from "./kit.js";

const CHOICES = [["polling", "Polling"], ["sse", "SSE"], ["websocket", "WebSockets"]];
const GROUPS = [["article", "The article's examples"], ["harder", "Harder cases, as of 2026"]];

export function mount(root, ctx) {
  const items = {};
  const decide = async (s, choice, factor, { actor = "learner" } = {}) => {
    const item = items[s];
    if (!item) throw new Error(`no scenario ${s}`);
    if (factor) item.radio(factor).checked = true;
    const picked = item.node.querySelector("input[type=radio]:checked")?.value;
    for (const b of item.group.querySelectorAll("button")) b.classList.toggle("chosen", b.dataset.choice === choice);
    if (!picked) {
      item.feedback.className = "feedback small bad";
      item.feedback.textContent = "First say what decides it, then pick the technique.";
      return;
    }
    try {
      const r = await sendJson("POST", `/api/lessons/${ctx.slug}/answers`, { kind: "decision", scenario: s, answer: choice, factor: picked }, { actor });
      item.feedback.className = `feedback small ${r.correct ? "good" : "bad"}`;
      item.feedback.textContent = r.feedback;
      item.node.dataset.answered = r.correct ? "right" : "wrong";
      ctx.refreshProgress?.();
    } catch (err) {
      item.feedback.textContent = err.message;
    }
  };

  const sections = GROUPS.map(([group, heading]) => {
    const list = el("ol", { class: "decide" });
    for (const s of ctx.lesson.scenarios.filter((x) => x.group === group)) {
      const feedback = el("p", { class: "feedback small", "aria-live": "polite" });
      const factors = el("fieldset", { class: "factors" },
        el("legend", { class: "small", text: "What decides it?" }),
        ...s.factors.map((f) => {
          const id = `factor-${s.id}-${f.id}`;
          return el("div", { class: "factor" },
            el("input", { type: "radio", name: `factor-${s.id}`, id, value: f.id }),
            el("label", { for: id, text: f.label }));
        }));
      const group = el("div", { class: "choices", role: "group", "aria-label": `Technique for: ${s.title}` },
        ...CHOICES.map(([value, label]) => {
          const b = el("button", { type: "button", class: "ghost", text: label, onclick: () => decide(s.id, value) });
          b.dataset.choice = value;
          return b;
        }));
      const node = el("li", { "data-scenario": s.id },
        el("span", { class: "scenario", text: s.title }), factors, group, feedback);
      items[s.id] = { node, group, feedback, radio: (f) => node.querySelector(`input[value="${f}"]`) };
      list.append(node);
    }
    return list.children.length ? el("section", { class: "decide-group" }, el("h4", { text: heading }), list) : null;
  });
  root.append(el("p", { class: "small muted", text: "For each case: tick what decides it, then press the technique. Both have to be right." }),
    ...sections.filter(Boolean));
  return { decide: (s, choice, factor, opts) => decide(s, choice, factor, opts) };
}
