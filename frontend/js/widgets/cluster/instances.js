// The cluster lab's two instances, A and B: what GET /api/lab/cluster says
// about them, the calls that start, kill and restart them, and their cards.

import { getJson, requestJson } from "../../api.js";
import { button, el } from "../kit.js";

export const NAMES = ["A", "B"];

export const other = (name) => (name === "A" ? "B" : "A");

export class Instances {
  constructor() {
    this.status = null; // the last answer of GET /api/lab/cluster
  }

  /** Reads the status; false when the server did not answer. */
  async refresh() {
    try {
      this.status = await getJson("/api/lab/cluster");
      return true;
    } catch {
      return false;
    }
  }

  /** `method path` on the lab; its answer is the new status. */
  async act(method, path) {
    this.status = await requestJson(method, path);
    return this.status;
  }

  get available() { return this.status?.available === true; }
  get started() { return (this.status?.instances.length ?? 0) > 0; }
  inst(name) { return this.status?.instances.find((i) => i.name === name); }
  running(name) { return this.inst(name)?.state === "running"; }
  url(name) { return this.inst(name)?.url; }
  /** The SSE retry delay the instances announce, in milliseconds. */
  get retryMs() { return this.status?.sse_retry_ms ?? 2000; }
  /** The one that is up, A first; null when both are down. */
  get anyRunning() { return NAMES.find((n) => this.running(n)) ?? null; }
}

/** One card per instance; `onToggle(name)` kills or restarts it. */
export function instanceCards(onToggle) {
  return Object.fromEntries(NAMES.map((name) => {
    const state = el("span", { class: "cluster-state", text: "not started" });
    const where = el("span", { class: "mono small muted", text: "port —" });
    const toggle = button(`Kill ${name}`, () => onToggle(name), "ghost");
    toggle.disabled = true;
    const card = el("div", { class: "cluster-instance", "data-instance": name, "data-state": "none" },
      el("strong", { class: "cluster-name", text: `Instance ${name}` }), where, state, toggle);
    return [name, { card, state, where, toggle }];
  }));
}

export function renderCards(cards, instances) {
  for (const name of NAMES) {
    const i = instances.inst(name);
    const c = cards[name];
    c.card.dataset.state = i?.state ?? "none";
    c.where.textContent = i ? `port ${i.port}` : "port —";
    c.state.textContent = !i ? "not started" : i.state === "running" ? "● running" : "○ stopped";
    c.state.title = i?.state === "running" ? `process ${i.pid}` : i?.note ?? "";
    c.toggle.disabled = !i;
    c.toggle.textContent = i?.state === "stopped" ? `Restart ${name}` : `Kill ${name}`;
  }
}

/** "3 instances reported" / "1 instance reported" / "Instances reported" (unknown count). */
export function reporting(n) {
  if (typeof n !== "number") return "Instances reported";
  return `${n} ${n === 1 ? "instance" : "instances"} reported`;
}
