// The sequence diagram's model and labels, without a browser: merging keeps
// every entry (shown + evicted + other = received), the 60 s window stays
// bounded at 20 events/s for two minutes, nothing already placed ever moves
// or overlaps, late and unknown entries are still drawn, and every label
// says its numbers with their units.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Geometry, SequenceModel, Shape } from "../../frontend/js/sequence-model.js";
import { arrowLabels } from "../../frontend/js/sequence-labels.js";

const T0 = 1_800_000_000_000;
let seq = 0;
const entry = (fields) => ({ seq: ++seq, bytes_up: 0, bytes_down: 0, direction: "down", connection: 1, ...fields });
const sseEvent = (at, id) => entry({ at_ms: at, transport: "sse", kind: "event", frame: "event", bytes_down: 190, body_bytes: 190, event_ids: [id], delays_ms: [1 + (id % 5)] });
const wsEvent = (at, id) => entry({ at_ms: at, transport: "websocket", kind: "event", frame: "text", connection: 2, bytes_down: 180, event_ids: [id], delays_ms: [2] });
const poll = (at, news) => entry({
  at_ms: at, transport: "poll", kind: "exchange", direction: "both", method: "GET", path: `/api/poll?since=${at}`,
  status: news ? 200 : 204, empty: !news, bytes_up: 118, bytes_down: news ? 433 : 162, body_bytes: news ? 271 : 0,
  duration_ms: 0.4, ...(news ? { event_ids: [1, 2], delays_ms: [300, 800] } : {}),
});
const longPoll = (at, id) => entry({
  at_ms: at, transport: "long_poll", kind: "exchange", direction: "both", method: "GET", path: "/api/long-poll?since=1",
  status: 200, empty: false, bytes_up: 120, bytes_down: 400, body_bytes: 240, duration_ms: 48, event_ids: [id], delays_ms: [1],
});
const publish = (at) => entry({ at_ms: at, transport: "api", kind: "exchange", direction: "both", method: "POST", path: "/api/events", status: 202 });

test("two minutes at 20 events/s: bounded, nothing lost, nothing moves or overlaps", () => {
  const model = new SequenceModel({ slotMs: 500, windowMs: 60_000 });
  const placed = new Map(); // arrow → its y when first placed
  let maxBands = 0;
  const add = (e) => {
    const a = model.add(e);
    if (a && !placed.has(a)) placed.set(a, a.y);
    assert.equal(model.shown + model.evicted + model.other, model.received, "every entry is counted once");
  };
  for (let i = 0; i < 120 * 20; i++) {
    const at = T0 + i * 50;
    add(publish(at));
    add(sseEvent(at + 1, i));
    add(wsEvent(at + 1, i));
    add(longPoll(at + 2, i));
    if (i % 20 === 0) add(poll(at + 3, i % 40 === 0));
    maxBands = Math.max(maxBands, model.bands.length);
  }
  assert.equal(model.received, 2400 * 4 + 120);
  assert.ok(model.evicted > 0, "the oldest minute left the window");
  assert.ok(maxBands <= 60_000 / 500 + 2, `bands stay within the window (${maxBands})`);
  const arrows = model.bands.flatMap((b) => b.arrows);
  assert.equal(arrows.reduce((n, a) => n + a.count, 0), model.shown, "the arrows' counts add up to what is shown");
  assert.ok(arrows.length < model.shown / 5, `merged: ${arrows.length} arrows for ${model.shown} entries`);
  for (const a of arrows) assert.equal(a.y, placed.get(a), "an arrow never moves once placed");
  for (const [i, band] of model.bands.entries()) {
    if (i > 0) assert.ok(band.top >= model.bands[i - 1].bottom, "bands do not overlap");
    for (const column of ["poll", "long_poll", "sse", "websocket"]) {
      const mine = band.arrows.filter((a) => a.transport === column);
      for (let j = 1; j < mine.length; j++) assert.ok(mine[j].y >= mine[j - 1].y + mine[j - 1].height, "arrows do not overlap");
      for (const a of mine) assert.ok(a.y + a.height <= band.bottom);
    }
  }
  assert.ok(model.origin <= model.bands[0].top && model.bottom === model.bands.at(-1).bottom);
});

test("a late entry joins the newest band; an unknown kind is still drawn", () => {
  const model = new SequenceModel();
  model.add(sseEvent(T0 + 5000, 1));
  const late = model.add(wsEvent(T0, 2));
  assert.equal(late.band, model.bands.at(-1), "late, but not lost nor placed above what is drawn");
  const odd = model.add(entry({ at_ms: T0 + 5001, transport: "sse", kind: "something-new" }));
  assert.equal(odd.shape, Shape.FRAME_DOWN);
  assert.equal(model.shown, 3);
});

test("labels: sizes and times with their units, merged arrows with a count", () => {
  const model = new SequenceModel();
  const empty = model.add(poll(T0, false));
  assert.deepEqual(arrowLabels(empty), { up: "GET /api/poll · 118 B", down: "204 · 0 B body · 162 B · 0.4 ms" });
  const news = model.add(poll(T0 + 1000, true));
  assert.deepEqual(arrowLabels(news), { up: "GET /api/poll · 118 B", down: "200 · 2 events · 433 B · 0.4 ms" });
  let events = null;
  for (let i = 0; i < 7; i++) events = model.add(sseEvent(T0 + 2000 + i * 10, 10 + i));
  assert.equal(events.count, 7);
  assert.deepEqual(arrowLabels(events), { single: "×7 events · 1.3 KB · ≤ 5 ms" });
  const open = model.add(entry({ at_ms: T0 + 3000, transport: "websocket", kind: "opened", direction: "both", method: "GET", path: "/api/ws", status: 101, bytes_up: 555, bytes_down: 229, connection: 9 }));
  assert.deepEqual(arrowLabels(open), { up: "GET /api/ws · 555 B", down: "101 Switching Protocols · 229 B" });
  const up = model.add(entry({ at_ms: T0 + 3001, transport: "websocket", kind: "frame", direction: "up", frame: "text", preview: '{"type":"subscribe"}', bytes_up: 26, connection: 9 }));
  assert.deepEqual(arrowLabels(up), { single: 'text {"type":"subscribe"} · 26 B' });
  const closed = model.add(entry({ at_ms: T0 + 15000, transport: "websocket", kind: "closed", direction: "both", close_code: 1000, close_reason: "done", duration_ms: 12000, connection: 9 }));
  assert.deepEqual(arrowLabels(closed), { single: "✕ closed 1000 · 12.0 s · done" });
  const span = model.spans.get(9);
  assert.equal(span.top, open.y + Geometry.ANSWER_Y, "the socket is open from the server's 101");
  assert.equal(span.bottom, closed.y + Geometry.LINE_Y, "until its close");
});
