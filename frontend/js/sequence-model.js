// The sequence diagram's model: traffic-log entries folded into arrows,
// arrows placed in time bands, and the bookkeeping that proves nothing was
// lost.
//
// Why a model apart from the drawing: at 20 events/s one arrow per entry is
// unreadable, so entries of the same shape that land in the same small time
// slot of the same transport merge into one arrow with a count. Every entry
// lands in exactly one arrow (or in the "not drawn" count for non-transport
// API calls), so `shown + evicted + other === received` always holds.
//
// Why fixed heights: an arrow's height depends only on its shape, and only
// the newest band can grow (downwards). Nothing already placed ever moves,
// so the drawing never jumps while it follows the traffic.

/** The four columns, left to right. */
export const COLUMNS = Object.freeze([
  Object.freeze({ transport: "poll", label: "Polling" }),
  Object.freeze({ transport: "long_poll", label: "Long-polling" }),
  Object.freeze({ transport: "sse", label: "SSE" }),
  Object.freeze({ transport: "websocket", label: "WebSocket" }),
]);
const DRAWN = new Set(COLUMNS.map((c) => c.transport));

/** What an arrow looks like; one per way an entry can appear on the wire. */
export const Shape = Object.freeze({
  /** A request → and its answer ←, slanted by how long the answer took. */
  EXCHANGE: "exchange",
  /** The request → that opens a stream or socket and the server's ← yes. */
  HANDSHAKE: "handshake",
  /** An event pushed ← over an open connection. */
  PUSH: "push",
  /** Anything else the server writes ← (heartbeat, ping, retry, reset, a non-event message). */
  FRAME_DOWN: "frame-down",
  /** A frame the client sends → over a WebSocket. */
  FRAME_UP: "frame-up",
  /** The end of a stream or socket. */
  CLOSE: "close",
});

/** How an arrow is emphasised. */
export const Tone = Object.freeze({
  NEWS: "news",
  EMPTY: "empty",
  ERROR: "error",
  PLAIN: "plain",
});

/** Pixel sizes: two rows for a request/answer pair, one otherwise; where lines sit in them. */
export const Geometry = Object.freeze({
  ROW: 26,
  PAIR: 54,
  /** The line of a one-row arrow, and the request line of a pair, below the arrow's top. */
  LINE_Y: 17,
  /** Where a pair's answer starts (it then slants down by up to 12 px). */
  ANSWER_Y: 40,
  BAND_GAP: 6,
  QUIET_GAP: 20,
});

const MAX_SPANS = 64;
const PAIRS = new Set([Shape.EXCHANGE, Shape.HANDSHAKE]);
const heightOf = (shape) => (PAIRS.has(shape) ? Geometry.PAIR : Geometry.ROW);

/** The shape and tone of one entry, and the key arrows merge on. */
function classify(e) {
  const status = e.status ?? 0;
  const failed = status >= 400;
  switch (e.kind) {
    case "exchange": {
      const news = e.empty === false || (e.event_ids?.length ?? 0) > 0;
      const tone = failed ? Tone.ERROR : e.empty === true ? Tone.EMPTY : news ? Tone.NEWS : Tone.PLAIN;
      return { shape: Shape.EXCHANGE, tone, key: `x:${status}:${tone}` };
    }
    case "opened":
      return { shape: Shape.HANDSHAKE, tone: failed ? Tone.ERROR : Tone.PLAIN, key: `o:${status}` };
    case "event":
      return { shape: Shape.PUSH, tone: Tone.NEWS, key: "e" };
    case "closed":
      return { shape: Shape.CLOSE, tone: Tone.PLAIN, key: `c:${e.close_code ?? ""}:${e.close_reason ?? ""}` };
    case "frame":
    default: {
      // An unknown kind is still drawn (as a plain frame): never lose an arrow.
      const up = e.direction === "up";
      return { shape: up ? Shape.FRAME_UP : Shape.FRAME_DOWN, tone: Tone.PLAIN, key: `${up ? "u" : "d"}:${e.frame ?? ""}` };
    }
  }
}

/** One drawn arrow: one entry, or several merged. */
class Arrow {
  constructor(band, transport, { shape, tone, key }, first, y) {
    this.band = band;
    this.transport = transport;
    this.shape = shape;
    this.tone = tone;
    this.key = key;
    this.first = first; // the first entry: method, path, status, frame, close reason…
    this.y = y;
    this.height = heightOf(shape);
    this.count = 0;
    this.bytesUp = 0;
    this.bytesDown = 0;
    this.bodyBytes = 0;
    this.events = 0;
    this.firstEventId = null;
    this.lastEventId = null;
    this.maxDurationMs = null;
    this.minDelayMs = null;
    this.maxDelayMs = null;
    this.firstAt = first.at_ms;
    this.lastAt = first.at_ms;
    this.version = 0; // bumped on every merge, so the drawing knows what to redo
  }

  add(e) {
    this.count += 1;
    this.version += 1;
    this.bytesUp += e.bytes_up ?? 0;
    this.bytesDown += e.bytes_down ?? 0;
    this.bodyBytes += e.body_bytes ?? 0;
    this.lastAt = Math.max(this.lastAt, e.at_ms);
    const ids = e.event_ids ?? [];
    if (ids.length) {
      this.events += ids.length;
      this.firstEventId ??= ids[0];
      this.lastEventId = ids.at(-1);
    }
    if (e.duration_ms != null) this.maxDurationMs = Math.max(this.maxDurationMs ?? 0, e.duration_ms);
    for (const d of e.delays_ms ?? []) {
      this.minDelayMs = Math.min(this.minDelayMs ?? d, d);
      this.maxDelayMs = Math.max(this.maxDelayMs ?? d, d);
    }
  }
}

/** All arrows of one time slot, per column, stacked top to bottom. */
class Band {
  constructor(slot, slotMs, top, quietMs) {
    this.slot = slot;
    this.startMs = slot * slotMs;
    this.top = top;
    this.quietMs = quietMs; // traffic-free time before this band (0: it follows at once)
    this.height = 0;
    this.fill = Object.fromEntries(COLUMNS.map((c) => [c.transport, 0]));
    this.arrows = [];
    this.byKey = new Map();
    this.evicted = false;
  }
  get bottom() { return this.top + this.height; }
  /** The space above the band that belongs to it (where its quiet-time label goes). */
  get gapAbove() { return this.quietMs > 0 ? Geometry.QUIET_GAP : Geometry.BAND_GAP; }
}

/** An open stream or socket, drawn as a tinted span from its handshake to its close. */
class Span {
  constructor(transport, connection, top) {
    this.transport = transport;
    this.connection = connection;
    this.top = top;
    this.bottom = null; // null while open
  }
}

export class SequenceModel {
  constructor({ slotMs = 500, windowMs = 60_000, maxBands = 400 } = {}) {
    this.slotMs = slotMs;
    this.windowMs = windowMs;
    this.maxBands = maxBands;
    this.clear();
  }

  clear() {
    this.bands = [];
    this.spans = new Map(); // connection → Span
    this.received = 0;
    this.other = 0; // entries of no drawn transport (publishing, feeds, status)
    this.evicted = 0; // entries whose arrows left the window
    this.shownByColumn = Object.fromEntries(COLUMNS.map((c) => [c.transport, 0]));
    this.newestAt = 0;
    this.pendingEvictions = []; // bands removed since the drawing last looked
    this.origin = 0; // top of the oldest band kept
  }

  get shown() {
    return Object.values(this.shownByColumn).reduce((a, n) => a + n, 0);
  }

  /** Bottom of the newest band (where the next band starts). */
  get bottom() {
    return this.bands.at(-1)?.bottom ?? this.origin;
  }

  /** Folds one entry in. Returns the arrow it joined, or null if it is not drawn. */
  add(e) {
    this.received += 1;
    if (!DRAWN.has(e.transport)) {
      this.other += 1;
      return null;
    }
    this.newestAt = Math.max(this.newestAt, e.at_ms);
    const band = this.bandFor(e.at_ms);
    const kind = classify(e);
    const key = `${e.transport}|${kind.key}`;
    let arrow = band.byKey.get(key);
    if (!arrow) {
      arrow = new Arrow(band, e.transport, kind, e, band.top + band.fill[e.transport]);
      band.fill[e.transport] += arrow.height;
      band.height = Math.max(band.height, band.fill[e.transport]);
      band.byKey.set(key, arrow);
      band.arrows.push(arrow);
    }
    arrow.add(e);
    this.shownByColumn[e.transport] += 1;
    this.trackSpan(e, arrow);
    this.capSpans();
    this.evictOld();
    return arrow;
  }

  /** The band an entry goes to: its slot's, or the newest if it arrived late. */
  bandFor(atMs) {
    const slot = Math.floor(atMs / this.slotMs);
    const last = this.bands.at(-1);
    if (last && slot <= last.slot) return last;
    const quietMs = last ? (slot - last.slot - 1) * this.slotMs : 0;
    const gap = !last ? 0 : quietMs > 0 ? Geometry.QUIET_GAP : Geometry.BAND_GAP;
    const band = new Band(slot, this.slotMs, this.bottom + gap, quietMs);
    if (!last) this.origin = band.top;
    this.bands.push(band);
    return band;
  }

  trackSpan(e, arrow) {
    if (e.kind === "opened" && (e.status ?? 101) < 400) {
      // The connection is open from the server's "yes" (the pair's lower arrow).
      this.spans.set(e.connection, new Span(e.transport, e.connection, arrow.y + Geometry.ANSWER_Y));
    } else if (e.kind === "closed") {
      const span = this.spans.get(e.connection) ?? this.spanFromTop(e);
      span.bottom = arrow.y + Geometry.LINE_Y;
    } else if ((e.kind === "event" || e.kind === "frame") && !this.spans.has(e.connection)) {
      // Opened before the window (or before this page): open since the top.
      this.spanFromTop(e);
    }
  }

  spanFromTop(e) {
    const span = new Span(e.transport, e.connection, this.origin);
    this.spans.set(e.connection, span);
    return span;
  }

  /** Bounded: a connection whose close never reached the log does not stay forever. */
  capSpans() {
    for (const id of this.spans.keys()) {
      if (this.spans.size <= MAX_SPANS) break;
      this.spans.delete(id);
    }
  }

  evictOld() {
    const oldest = this.newestAt - this.windowMs;
    while (this.bands.length > 1 && (this.bands[0].startMs + this.slotMs <= oldest || this.bands.length > this.maxBands)) {
      const band = this.bands.shift();
      band.evicted = true;
      for (const a of band.arrows) {
        this.evicted += a.count;
        this.shownByColumn[a.transport] -= a.count;
      }
      this.pendingEvictions.push(band);
      this.origin = this.bands[0].top - this.bands[0].gapAbove;
    }
    for (const [id, span] of this.spans) {
      if (span.bottom !== null && span.bottom <= this.origin) this.spans.delete(id);
    }
  }

  /** Bands removed since the last call (the drawing removes their nodes). */
  takeEvictions() {
    const out = this.pendingEvictions;
    this.pendingEvictions = [];
    return out;
  }

  /** The newest `n` arrows, oldest first (for the text alternative). */
  lastArrows(n) {
    const out = [];
    for (let i = this.bands.length - 1; i >= 0 && out.length < n; i--) {
      const arrows = this.bands[i].arrows;
      for (let j = arrows.length - 1; j >= 0 && out.length < n; j--) out.push(arrows[j]);
    }
    return out.reverse();
  }
}
