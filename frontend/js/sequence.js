// The learner's own traffic as a live sequence diagram, the way the seed
// article draws it ("Client → Any update?  Server → No."): four columns
// (polling, long-polling, SSE, WebSocket), each with a client lane and a
// server lane, time flowing down, newest at the bottom.
//
// Why SVG and not a canvas: the arrows are few once merged (see
// sequence-model.js), so the DOM stays small; each frame only adds or
// updates the arrows that changed instead of repainting everything; colours
// come from the page's CSS variables, so the light and dark themes apply
// without a redraw; text stays crisp at any zoom; every arrow carries a
// <title> tooltip; and tests can read the arrows back from the DOM.
//
// Entries go in with add(); drawing happens at most once per animation
// frame, within a time budget, so a burst never blocks the page. Pausing
// freezes the drawing while the model keeps counting; nothing is dropped.

import { el } from "./dom.js";
import { clock } from "./format.js";
import { COLUMNS, Geometry, SequenceModel, Shape } from "./sequence-model.js";
import { arrowLabels, arrowSentence } from "./sequence-labels.js";
import { SequenceText } from "./sequence-text.js";

const NS = "http://www.w3.org/2000/svg";
const GUTTER = 84; // px, the time column
const COL_MIN = 232; // px; below four of these the diagram scrolls sideways
const LANE_PAD = 16; // px from a column's edge to its lane
const CHAR_PX = 6.3; // width of an 11 px label character (bold digits, to be safe)
const TOP_PAD = 6;
const BUDGET_MS = 6; // drawing work per frame before the rest waits a frame
const FRAME_SAMPLES = 2000;

let instances = 0;

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

const fit = (text, px) => {
  const n = Math.max(4, Math.floor(px / CHAR_PX));
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
};

/** How far an answer slants down, from how long it took (log scale, px). */
const slantOf = (ms) => (ms == null ? 1 : Math.min(12, Math.max(1, Math.log10(1 + ms) * 3)));
/** Merged arrows are thicker: 1.5 px for one, up to 6 px. */
const widthOf = (count) => Math.min(6, 1.5 + Math.log2(count) * 1.1).toFixed(2);
const round = (n) => Math.round(n * 10) / 10;

export class SequenceDiagram {
  /**
   * @param {HTMLElement} root where the diagram, its pause button and its text alternative go
   * @param {{slotMs?: number, windowMs?: number}} options arrows of one slot merge; the window bounds the history
   */
  constructor(root, { slotMs = 500, windowMs = 60_000 } = {}) {
    this.root = root;
    this.model = new SequenceModel({ slotMs, windowMs });
    this.windowS = Math.round(windowMs / 1000);
    this.arrowNodes = new Map(); // Arrow → <g>
    this.bandNodes = new Map(); // Band → <g>
    this.spanNodes = new Map(); // Span → <rect>
    this.dirty = new Set(); // arrows to draw or redraw
    this.doomed = []; // evicted bands whose nodes are still on screen
    this.paused = false;
    this.held = 0;
    this.following = true;
    this.scrollDue = false; // follow the newest at the start of the next frame
    this.autoScrollTop = 0;
    this.ownScrollPending = false; // set by applyScroll until the scroll event it causes
    this.frame = 0;
    this.colW = COL_MIN;
    this.drawnOrigin = null;
    this.drawnHeight = null;
    this.version = 0;
    /** Milliseconds each render took (the newest FRAME_SAMPLES). */
    this.frameTimes = [];
    this.build();
    root.diagram = this; // for tests and the console
  }

  build() {
    const id = `seq-${++instances}`;
    this.root.classList.add("seq");
    this.pauseButton = el("button", { type: "button", class: "ghost", "aria-pressed": "false", text: "Pause" });
    this.pauseButton.addEventListener("click", () => (this.paused ? this.resume() : this.pause()));
    this.text = new SequenceText(this.model, { id, windowS: this.windowS });
    const legend = el("p", { class: "seq-legend" },
      `Time flows down, newest at the bottom. Solid arrows carry news; dashed grey arrows are empty answers; `
      + `a thicker arrow merges several of the same kind from the same half second (×n); an answer slants more `
      + `the longer it took; the tinted band is an open connection; ✕ marks its end. Sizes are bytes on the wire.`);
    this.head = el("div", { class: "seq-head", "aria-hidden": "true" });
    this.svg = svg("svg", { class: "seq-svg", role: "img", "aria-labelledby": `${id}-title ${id}-desc` });
    this.title = svg("title", { id: `${id}-title` }, "Sequence diagram of your traffic");
    this.desc = svg("desc", { id: `${id}-desc` }, "No traffic yet.");
    this.lanes = svg("g", { class: "seq-lanes" });
    this.content = svg("g", { class: "seq-content" });
    this.spansLayer = svg("g", { class: "seq-spans" });
    this.bandsLayer = svg("g", { class: "seq-bands" });
    this.arrowsLayer = svg("g", { class: "seq-arrows" });
    this.content.append(this.spansLayer, this.bandsLayer, this.arrowsLayer);
    this.svg.append(this.title, this.desc, this.lanes, this.content);
    this.scroller = el("div", {
      class: "seq-scroll", tabindex: "0", role: "region",
      "aria-label": `Sequence diagram of your traffic, last ${this.windowS} s, newest at the bottom (a table of the newest arrows follows)`,
      "aria-describedby": `${id}-summary`,
    }, this.head, this.svg);
    this.scroller.addEventListener("scroll", () => {
      const s = this.scroller;
      const ours = this.ownScrollPending && Math.abs(s.scrollTop - this.autoScrollTop) < 1;
      this.ownScrollPending = false;
      if (ours) return; // our own scroll, not the reader's (the drawing may have grown since)
      this.following = s.scrollTop + s.clientHeight >= s.scrollHeight - 8;
    }, { passive: true });
    // The summary goes below the drawing: when its wording changes, nothing above moves.
    this.root.append(el("div", { class: "seq-toolbar" }, this.pauseButton, legend), this.scroller, this.text.summary, this.text.table);
    this.resizeObserver = new ResizeObserver(() => this.measure());
    this.resizeObserver.observe(this.scroller);
    this.measure();
    this.updateSummary();
  }

  /** Column width from the space available; a change redraws everything once. */
  measure() {
    const width = this.scroller.clientWidth || 4 * COL_MIN + GUTTER;
    const colW = Math.max(COL_MIN, Math.floor((width - GUTTER - 2) / COLUMNS.length));
    if (colW === this.colW && this.lanes.childElementCount) return;
    this.colW = colW;
    this.drawLanes();
    this.removeAllNodes();
    for (const band of this.model.bands) for (const a of band.arrows) this.dirty.add(a);
    this.schedule();
  }

  drawLanes() {
    this.drawnHeight = null; // the new lanes need their length
    const width = GUTTER + this.colW * COLUMNS.length;
    this.svg.setAttribute("width", width);
    this.head.style.width = `${width}px`; // CSSOM: allowed by the page's CSP
    this.head.style.gridTemplateColumns = `${GUTTER}px repeat(${COLUMNS.length}, ${this.colW}px)`;
    this.head.replaceChildren(el("div", { class: "seq-head-time", text: "Time" }), ...COLUMNS.map((c) =>
      el("div", { class: `seq-col-head c-${c.transport}` },
        el("span", { class: "seq-col-name", text: c.label }),
        el("span", { class: "seq-lane-names" }, el("span", { text: "Client" }), el("span", { text: "Server" })))));
    this.lanes.replaceChildren(...COLUMNS.flatMap((c, i) => {
      const { client, server, left } = this.x(i);
      return [
        svg("line", { class: "seq-col-rule", x1: left, x2: left, y1: 0, y2: 0 }),
        svg("line", { class: `seq-lane c-${c.transport}`, x1: client, x2: client, y1: 0, y2: 0 }),
        svg("line", { class: `seq-lane c-${c.transport}`, x1: server, x2: server, y1: 0, y2: 0 }),
      ];
    }));
  }

  /** A column's edges and lanes, in px. */
  x(i) {
    const left = GUTTER + i * this.colW;
    return { left, client: left + LANE_PAD, server: left + this.colW - LANE_PAD };
  }

  column(transport) {
    return COLUMNS.findIndex((c) => c.transport === transport);
  }

  /** Takes one traffic-log entry. */
  add(entry) {
    const arrow = this.model.add(entry);
    if (arrow) this.dirty.add(arrow);
    this.version += 1;
    if (this.paused) {
      this.forgetEvicted();
      this.held += 1;
      this.pauseButton.textContent = `Resume (${this.held} new)`;
    }
    this.schedule();
  }

  /** Forgets everything (after the server's log was reset). */
  clear() {
    this.model.clear();
    this.dirty.clear();
    this.doomed = [];
    this.removeAllNodes();
    this.drawnOrigin = null;
    this.version += 1;
    this.schedule();
  }

  removeAllNodes() {
    for (const map of [this.arrowNodes, this.bandNodes, this.spanNodes]) {
      for (const node of map.values()) node.remove();
      map.clear();
    }
  }

  pause() {
    this.paused = true;
    this.held = 0;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.pauseButton.setAttribute("aria-pressed", "true");
    this.pauseButton.textContent = "Resume";
    this.text.render(() => this.version); // the text alternative matches the frozen picture
  }

  resume() {
    this.paused = false;
    this.pauseButton.setAttribute("aria-pressed", "false");
    this.pauseButton.textContent = "Pause";
    this.schedule();
  }

  destroy() {
    this.text.destroy();
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.paused = true;
    this.resizeObserver.disconnect();
  }

  schedule() {
    if (!this.frame && !this.paused) this.frame = requestAnimationFrame(() => this.render());
  }

  /**
   * Bands that left the window: never draw their arrows; keep only those with
   * nodes on screen, to remove at the next frame (none while paused, so a long
   * pause holds no more than the frozen picture).
   */
  forgetEvicted() {
    for (const band of this.model.takeEvictions()) {
      for (const a of band.arrows) this.dirty.delete(a);
      if (this.bandNodes.has(band)) this.doomed.push(band);
    }
  }

  /** One frame of drawing: evictions, changed arrows (within budget), spans, size, scroll. */
  render() {
    this.frame = 0;
    const started = performance.now();
    this.applyScroll();
    this.forgetEvicted();
    for (const band of this.doomed) {
      for (const a of band.arrows) {
        this.arrowNodes.get(a)?.remove();
        this.arrowNodes.delete(a);
      }
      this.bandNodes.get(band)?.remove();
      this.bandNodes.delete(band);
    }
    this.doomed = [];
    for (const a of this.dirty) {
      if (performance.now() - started > BUDGET_MS) break;
      this.dirty.delete(a);
      if (!a.band.evicted) this.drawArrow(a);
    }
    this.drawSpans();
    this.fitHeight();
    this.updateSummary();
    this.text.refreshSoon(started, () => this.version, () => this.paused);
    this.frameTimes.push(performance.now() - started);
    if (this.frameTimes.length > FRAME_SAMPLES) this.frameTimes.splice(0, this.frameTimes.length - FRAME_SAMPLES);
    if (this.dirty.size || this.scrollDue) this.schedule();
  }

  /**
   * Scrolls to the newest arrows. Done first thing in a frame, while the
   * layout from the last frame is still valid: scrolling right after
   * drawing would force the browser to lay everything out again at once.
   */
  applyScroll() {
    if (!this.scrollDue) return;
    this.scrollDue = false;
    const s = this.scroller;
    s.scrollTop = s.scrollHeight;
    this.autoScrollTop = s.scrollTop;
    this.ownScrollPending = true;
  }

  drawBand(band) {
    if (this.bandNodes.has(band)) return;
    const width = GUTTER + this.colW * COLUMNS.length;
    const g = svg("g", { class: "seq-band" });
    const rule = band.top - band.gapAbove / 2;
    g.append(svg("line", { class: "seq-band-rule", x1: 0, x2: width, y1: rule, y2: rule }));
    if (band.quietMs > 0) {
      g.append(svg("text", { class: "seq-quiet", x: 4, y: band.top - 5 }, `⋮ ${(band.quietMs / 1000).toFixed(1)} s quiet`));
    }
    g.append(svg("text", { class: "seq-time", x: 4, y: band.top + 13 }, clock(band.startMs).slice(0, -2)));
    this.bandsLayer.append(g);
    this.bandNodes.set(band, g);
  }

  drawArrow(a) {
    this.drawBand(a.band);
    const i = this.column(a.transport);
    const { client, server } = this.x(i);
    const g = this.arrowNodes.get(a) ?? svg("g");
    g.setAttribute("class", `seq-arrow s-${a.shape} tone-${a.tone} c-${a.transport}`);
    g.setAttribute("data-count", a.count);
    g.setAttribute("data-column", a.transport);
    g.setAttribute("data-kind", a.first.kind);
    g.setAttribute("stroke-width", widthOf(a.count));
    const labels = arrowLabels(a);
    const room = this.colW - 12;
    const mid = (client + server) / 2;
    const parts = [svg("title", {}, arrowSentence(a))];
    if (labels.single === undefined) {
      const yReq = a.y + Geometry.LINE_Y;
      const yAns = a.y + Geometry.ANSWER_Y;
      const slant = slantOf(a.maxDurationMs);
      parts.push(
        ...this.arrow(client, yReq, server, yReq),
        svg("text", { class: "label", x: mid, y: yReq - 5 }, fit(labels.up, room)),
        ...this.arrow(server, yAns, client, yAns + slant, "answer"),
        svg("text", { class: "label answer", x: mid, y: yAns - 5 }, fit(labels.down, room)));
      if ((a.maxDurationMs ?? 0) >= 100 || a.shape === Shape.HANDSHAKE) {
        // The server holding the request (or switching protocols) before it answers.
        parts.push(svg("rect", { class: "held", x: server - 2, y: yReq, width: 4, height: yAns - yReq }));
      }
    } else if (a.shape === Shape.CLOSE) {
      const y = a.y + Geometry.LINE_Y;
      parts.push(
        svg("line", { class: "line", x1: client, x2: server, y1: y, y2: y }),
        svg("text", { class: "mark", x: client, y: y + 4 }, "✕"),
        svg("text", { class: "mark", x: server, y: y + 4 }, "✕"),
        svg("text", { class: "label", x: mid, y: y - 5 }, fit(labels.single, room)));
    } else {
      const y = a.y + Geometry.LINE_Y;
      const [from, to] = a.shape === Shape.FRAME_UP ? [client, server] : [server, client];
      parts.push(...this.arrow(from, y, to, y + 1), svg("text", { class: "label", x: mid, y: y - 5 }, fit(labels.single, room)));
    }
    g.replaceChildren(...parts);
    if (!g.isConnected) this.arrowsLayer.append(g);
    this.arrowNodes.set(a, g);
  }

  /** A line with its head at (x2, y2). */
  arrow(x1, y1, x2, y2, part = "") {
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const bx = x2 - ux * 8;
    const by = y2 - uy * 8;
    const head = `${round(bx - uy * 4)},${round(by + ux * 4)} ${round(x2)},${round(y2)} ${round(bx + uy * 4)},${round(by - ux * 4)}`;
    return [
      svg("line", { class: `line ${part}`, x1: round(x1), y1: round(y1), x2: round(bx + ux * 2), y2: round(by + uy * 2) }),
      svg("polygon", { class: `head ${part}`, points: head }),
    ];
  }

  /** Tinted spans for open streams and sockets; open ones reach the bottom. */
  drawSpans() {
    const { origin, bottom } = this.model;
    for (const [span, node] of this.spanNodes) {
      if (!this.model.spans.has(span.connection) || this.model.spans.get(span.connection) !== span) {
        node.remove();
        this.spanNodes.delete(span);
      }
    }
    for (const span of this.model.spans.values()) {
      const i = this.column(span.transport);
      const { client, server } = this.x(i);
      const top = Math.max(span.top, origin);
      const end = span.bottom ?? bottom;
      let node = this.spanNodes.get(span);
      if (!node) {
        node = svg("rect", { class: `seq-span c-${span.transport}`, x: client, width: server - client });
        this.spansLayer.append(node);
        this.spanNodes.set(span, node);
      }
      node.setAttribute("y", top);
      node.setAttribute("height", Math.max(0, end - top));
    }
  }

  /** Keeps the drawing as tall as its content; asks for the newest part to come into view. */
  fitHeight() {
    const { origin, bottom } = this.model;
    const height = Math.max(bottom - origin, 0) + TOP_PAD * 2;
    const shift = this.drawnOrigin === null ? 0 : origin - this.drawnOrigin;
    this.drawnOrigin = origin;
    if (height === this.drawnHeight && shift === 0) return;
    this.drawnHeight = height;
    this.svg.setAttribute("height", height);
    this.content.setAttribute("transform", `translate(0 ${TOP_PAD - origin})`);
    for (const line of this.lanes.children) line.setAttribute("y2", height);
    if (this.following) this.scrollDue = true;
    else if (shift > 0) this.scroller.scrollTop = Math.max(0, this.scroller.scrollTop - shift); // what you read stays put
  }

  updateSummary() { this.text.updateSummary(this.root, this.desc); }

  /** p50 / p95 / max of the render times so far, in ms. */
  renderStats() {
    const sorted = [...this.frameTimes].sort((x, y) => x - y);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return { frames: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? 0 };
  }
}
