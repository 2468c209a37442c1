// The sequence diagram's text alternative: a summary sentence under the
// drawing and a visually hidden table of the newest arrows. The table is
// rebuilt at most once a second (rows reused, only changed cells
// rewritten), so a burst at full rate costs the page little; it is no live
// region, so a screen reader hears it only when the reader goes there.

import { el } from "./dom.js";
import { bytes, clock } from "./format.js";
import { COLUMNS, Tone } from "./sequence-model.js";
import { arrowLabels, directionWords, transportLabel } from "./sequence-labels.js";

const TABLE_ROWS = 30;
const TABLE_EVERY_MS = 1000;

export class SequenceText {
  /** `model`: the diagram's SequenceModel; `id` prefixes the element ids. */
  constructor(model, { id, windowS }) {
    this.model = model;
    this.windowS = windowS;
    this.tableAt = 0;
    this.tableTimer = 0;
    this.shownVersion = -1;
    this.summary = el("p", { class: "seq-summary", id: `${id}-summary` });
    this.tableBody = el("tbody");
    // In a box: a table is never narrower than its content, even at width 1px.
    this.table = el("div", { class: "visually-hidden" }, el("table", {},
      el("caption", { text: `The newest ${TABLE_ROWS} arrows of the sequence diagram, oldest first` }),
      el("thead", {}, el("tr", {}, ...["Time", "Transport", "Direction", "What went over the wire", "Entries"].map((t) => el("th", { scope: "col", text: t })))),
      this.tableBody));
  }

  /** The summary sentence; also the SVG's `desc` and the counts on `root`'s dataset (for tests). */
  updateSummary(root, desc) {
    const m = this.model;
    const perColumn = COLUMNS.map((c) => `${c.label} ${m.shownByColumn[c.transport]}`).join(" · ");
    const arrows = m.bands.reduce((n, b) => n + b.arrows.length, 0);
    const text = m.received === 0
      ? "No traffic yet. Start the clients, publish an event, or use any transport: every request, event and frame appears here as an arrow."
      : `Last ${this.windowS} s: ${arrows} arrows for ${m.shown} entries (${perColumn}). `
        + `Of ${m.received} entries received, ${m.evicted} left the window and ${m.other} other API requests `
        + `(publishing, feeds) are not drawn.`;
    if (this.summary.textContent !== text) {
      this.summary.textContent = text;
      desc.textContent = text;
    }
    root.dataset.received = m.received;
    root.dataset.shown = m.shown;
    root.dataset.evicted = m.evicted;
    root.dataset.other = m.other;
  }

  /** Renders the table at most once a second, and once more after the last change; `isPaused()` holds the late one. */
  refreshSoon(now, version, isPaused) {
    if (this.tableTimer) return;
    const wait = Math.max(0, this.tableAt + TABLE_EVERY_MS - now);
    if (wait === 0) this.render(version);
    else this.tableTimer = setTimeout(() => { this.tableTimer = 0; if (!isPaused()) this.render(version); }, wait);
  }

  /** The newest arrows as table rows; `version` is the model's, so an unchanged model costs nothing. */
  render(version) {
    this.tableAt = performance.now();
    if (this.shownVersion === version()) return;
    this.shownVersion = version();
    const arrows = this.model.lastArrows(TABLE_ROWS);
    const rows = this.tableBody.rows;
    // Rows are reused and only changed cells rewritten: this runs every second at full rate.
    while (rows.length < arrows.length) this.tableBody.append(el("tr", {}, el("td"), el("td"), el("td"), el("td"), el("td")));
    while (rows.length > arrows.length) this.tableBody.lastElementChild.remove();
    arrows.forEach((a, i) => {
      const labels = arrowLabels(a);
      const what = labels.single ?? `${labels.up}; answer: ${labels.down}`;
      const tone = a.tone === Tone.EMPTY ? " (empty)" : a.tone === Tone.NEWS ? " (news)" : a.tone === Tone.ERROR ? " (error)" : "";
      const texts = [clock(a.firstAt), transportLabel(a.transport), directionWords(a), `${what}${tone}`,
        `${a.count} (${bytes(a.bytesUp + a.bytesDown)})`];
      texts.forEach((text, j) => {
        const cell = rows[i].cells[j];
        if (cell.textContent !== text) cell.textContent = text;
      });
    });
  }

  destroy() { clearTimeout(this.tableTimer); }
}
