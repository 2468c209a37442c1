import { initFeeds } from "../feeds.js";
import { codeBox, el, status } from "./kit.js";

const CODE = `await fetch("/api/feeds/ticker", {
  method: "PATCH",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ running: true, interval_ms: 1000 }),
});`;

export function mount(root) {
  const list = el("ul", { class: "feeds", "aria-label": "Feeds" });
  const state = status("Loading feeds…");
  root.append(list, state, codeBox(CODE));
  initFeeds(list, state);
  return {};
}
