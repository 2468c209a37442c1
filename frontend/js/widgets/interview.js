import { el, postJson } from "./kit.js";

export function mount(root, ctx) {
  const area = el("textarea", { rows: "5", maxlength: "5000", "aria-label": "Your answer", placeholder: "When would you choose SSE over WebSockets? Write your answer here…" });
  const result = el("div", { class: "interview-result", "aria-live": "polite" });
  const submit = el("button", {
    type: "button", text: "Compare with the model answer",
    onclick: async () => {
      try {
        const r = await postJson(`/api/lessons/${ctx.slug}/answers`, { kind: "interview", answer: area.value });
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
    },
  });
  root.append(area, el("div", { class: "widget-controls" }, submit), result);
  return {};
}
