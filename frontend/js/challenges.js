// Challenge cards: start, live verdict, hint, solution, reset, best score.

import { getJson, sendJson } from "./api.js";
import { el } from "./dom.js";

const LABEL = { idle: "Not started", pending: "In progress", solved: "Solved", failed: "Failed" };

export function initChallenges(list) {
  const cards = new Map();
  const render = (c) => {
    let card = cards.get(c.id);
    if (!card) {
      const start = el("button", { type: "button", text: "Start", onclick: async () => update(await sendJson("POST", `/api/lab/challenges/${c.id}/start`)) });
      const reset = el("button", { type: "button", class: "ghost", text: "Reset", onclick: async () => update(await sendJson("POST", `/api/lab/challenges/${c.id}/reset`)) });
      card = {
        root: el("li", { class: "challenge", id: `challenge-${c.id}` }),
        state: el("span", { class: "challenge-state" }),
        message: el("p", { class: "small challenge-message", "aria-live": "polite" }),
        best: el("span", { class: "muted small" }),
        start,
      };
      card.root.append(
        el("div", { class: "challenge-head" }, el("h3", { text: c.title }), card.state),
        el("p", { text: c.goal }),
        card.message,
        el("p", { class: "buttons" }, start, reset, card.best),
        el("details", {}, el("summary", { text: "Hint" }), el("p", { class: "small", text: c.hint })),
        el("details", {}, el("summary", { text: "Show solution" }), el("p", { class: "small", text: c.solution })),
      );
      cards.set(c.id, card);
      list.append(card.root);
    }
    card.root.dataset.state = c.state;
    card.state.textContent = LABEL[c.state] ?? c.state;
    card.message.textContent = c.score !== null && c.score !== undefined
      ? `${c.message} Score: ${c.score} (${c.score_unit}).`
      : c.message;
    card.best.textContent = c.best !== null && c.best !== undefined ? `Best: ${c.best} ${c.score_unit}` : "";
    card.start.textContent = c.state === "idle" ? "Start" : "Restart";
  };
  const update = (c) => render(c);
  const refresh = async () => {
    try {
      for (const c of await getJson("/api/lab/challenges")) render(c);
    } catch {
      // Try again on the next tick.
    }
  };
  refresh();
  setInterval(refresh, 1500);
}
