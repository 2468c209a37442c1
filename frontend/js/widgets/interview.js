// The interview answer: written, judged against key points on the server,
// then the model answer beside it.

import { sendJson } from "../api.js";
import { el } from "./kit.js";

export function mount(root, ctx) {
  const area = el("textarea", { rows: "5", maxlength: "2000", "aria-label": "Your answer", "data-action": "answer-text", placeholder: "When would you choose SSE over WebSockets? Write your answer here…" });
  const result = el("div", { class: "interview-result", "aria-live": "polite" });
  const answer = async (text = area.value, { actor = "learner" } = {}) => {
    area.value = text;
    try {
      const r = await sendJson("POST", `/api/lessons/${ctx.slug}/answers`, { kind: "interview", answer: text }, { actor });
      result.replaceChildren(
        el("p", { text: r.feedback }),
        el("ul", { class: "checklist" }, ...r.key_points.map((k) =>
          el("li", { class: k.covered ? "good" : "bad" },
            el("span", { class: "mark", "aria-hidden": "true", text: k.covered ? "✓" : "○" }),
            el("span", { text: `${k.point}${k.covered ? "" : " (not found in your answer)"}` })))),
        el("h4", { text: "Model answer" }),
        el("blockquote", { text: r.model_answer }),
      );
      ctx.refreshProgress?.();
    } catch (err) {
      result.replaceChildren(el("p", { class: "bad", text: err.message }));
    }
  };
  const submit = el("button", { type: "button", text: "Compare with the model answer", "data-action": "answer", onclick: () => answer() });
  root.append(area, el("div", { class: "widget-controls" }, submit), result);
  return { answer: (text, opts) => answer(text, opts) };
}
