import { el, postJson } from "./kit.js";

const CHOICES = [["polling", "Polling"], ["sse", "SSE"], ["websocket", "WebSockets"]];

export function mount(root, ctx) {
  const list = el("ol", { class: "decide" });
  for (const s of ctx.lesson.scenarios) {
    const feedback = el("p", { class: "feedback small", "aria-live": "polite" });
    const group = el("div", { class: "choices", role: "group", "aria-label": s.title });
    for (const [value, label] of CHOICES) {
      group.append(el("button", {
        type: "button", class: "ghost", text: label,
        onclick: async (ev) => {
          for (const b of group.querySelectorAll("button")) b.classList.remove("chosen");
          ev.currentTarget.classList.add("chosen");
          try {
            const r = await postJson(`/api/lessons/${ctx.slug}/answers`, { kind: "decision", scenario: s.id, answer: value });
            feedback.className = `feedback small ${r.correct ? "good" : "bad"}`;
            feedback.textContent = r.feedback;
            ctx.refreshProgress?.();
          } catch (err) {
            feedback.textContent = err.message;
          }
        },
      }));
    }
    list.append(el("li", {}, el("span", { class: "scenario", text: s.title }), group, feedback));
  }
  root.append(list);
  return {};
}
