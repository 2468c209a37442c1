// The cluster widget's account of one client: which event ids it got and
// from which instance, and which of the events published since it started
// it is still missing. Counting against what was published is what makes
// "nothing lost" a measurement, not a claim.

import { el } from "../kit.js";

/** Ids kept on screen per client (the counts cover every one). */
const IDS_SHOWN = 40;

export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "#41–#45" for a list of ids (the ids are long: they start at the clock). */
export function range(ids) {
  if (!ids.length) return "none";
  const sorted = [...ids].sort((a, b) => a - b);
  return sorted.length === 1 ? `#${sorted[0]}` : `#${sorted[0]}–#${sorted[sorted.length - 1]}`;
}

/** What the page published on the instances: `{ id, on, at }`, `at` from performance.now(). */
export class Published {
  constructor() { this.events = []; }
  add(id, on, at) { this.events.push({ id, on, at }); }
  /** Ids published since `at`. */
  since(at) { return this.events.filter((p) => p.at >= at).map((p) => p.id); }
}

/** One client's box: its heading, status line, counts and received ids. */
export class ClientTally {
  constructor(kind, title, published) {
    this.published = published;
    this.received = [];
    this.on = null; // the instance it is connected to
    this.since = null; // when it first connected: what it must receive starts here
    this.where = el("span", { class: "cluster-on", text: "" });
    this.line = el("p", { class: "cluster-line small", "aria-live": "polite", text: "waiting for the instances" });
    this.counts = el("p", { class: "cluster-counts small", text: "0 of 0 events received · 0 missing" });
    this.ids = el("ol", { class: "cluster-ids mono", "aria-label": `Event ids the ${title} received, newest first`, tabindex: "0" });
    this.controls = el("div", { class: "cluster-client-controls" });
    this.box = el("section", { class: "cluster-client", "data-client": kind, "aria-label": title },
      el("h4", {}, title, " ", this.where), this.line, this.counts, this.ids, this.controls);
  }

  /** Notes `id` as received from `this.on`; false when it came before. */
  record(id) {
    if (this.received.includes(id)) return false;
    this.received.push(id);
    this.ids.prepend(el("li", { text: `#${id} · ${this.on}`, "data-on": this.on ?? "", title: `event #${id}, received from instance ${this.on}` }));
    while (this.ids.children.length > IDS_SHOWN) this.ids.lastElementChild.remove();
    return true;
  }

  /** Starts the count from now, unless it started before. */
  connected() { this.since ??= performance.now(); }

  expected() { return this.since === null ? [] : this.published.since(this.since); }

  missing() {
    const got = new Set(this.received);
    return this.expected().filter((id) => !got.has(id));
  }

  render() {
    const miss = this.missing().length;
    this.counts.textContent = `${this.received.length} of ${this.expected().length} events received · ${miss} missing`;
    this.counts.dataset.missing = String(miss);
    this.box.dataset.on = this.on ?? "";
    this.where.textContent = this.on ? `· on ${this.on}` : "";
  }
}
