// Conformance of /api/sse with the npm `eventsource` package (v5, the
// WHATWG-conformant EventSource for Node), pinned in package-lock.json.
//
// The server is the already-built debug binary (harness.mjs). Every wait is
// on something the client or server reports (an event seen, a stream opened,
// an error event), bounded by PATIENCE so a bug fails instead of hanging.
//
// CONFORMANCE_TLS=1 runs the same tests over HTTPS and HTTP/2: the server
// with --tls (its generated certificate kept in a temporary data directory,
// trusted by the client as its only CA), every request through undici with
// HTTP/2 allowed, and each test checks the server logged its streams as h2.

import { test } from "node:test";
import assert from "node:assert/strict";
import { EventSource } from "eventsource";
import { RETRY_MS, assertProtocol, base, post, publish, request, until, useServer } from "./harness.mjs";

useServer();

/**
 * An EventSource for `learner`: its `fetch` option adds the X-Learner
 * header (so drops target it) and records every request it makes.
 */
function openEventSource(learner, topic) {
  const seen = []; // ids, in arrival order
  const requests = []; // {lastEventId, lastSeen, at}
  const state = { opens: 0, errors: [], resets: 0, mismatched: 0 };
  const es = new EventSource(`${base}/api/sse?topics=${topic}`, {
    fetch: (url, init) => {
      requests.push({
        lastEventId: init.headers["Last-Event-ID"] ?? null,
        lastSeen: seen.length ? String(seen.at(-1)) : null,
        at: performance.now(),
      });
      return request(url, { ...init, headers: { ...init.headers, "X-Learner": learner } });
    },
  });
  es.addEventListener("open", () => state.opens++);
  es.addEventListener("error", (e) => state.errors.push({ code: e.code, at: performance.now(), readyState: es.readyState }));
  es.addEventListener("reset", () => state.resets++);
  es.addEventListener("tick", (e) => {
    if (JSON.parse(e.data).id !== Number(e.lastEventId)) state.mismatched++;
    seen.push(Number(e.lastEventId));
  });
  return { es, seen, requests, state };
}

test("20 server-side drops during a 500-event feed: EventSource resumes with retry and Last-Event-ID, 0 lost, 0 duplicated", { timeout: 60_000 }, async () => {
  const learner = "conformance-resume";
  const { es, seen, requests, state } = openEventSource(learner, "conformance");
  try {
    await until(es, ["open"], () => state.opens === 1, "the first open");
    const published = [];
    let drops = 0;
    for (let i = 0; i < 500; i++) {
      published.push(await publish("conformance", i));
      if (i % 25 === 12) {
        // Cut the stream once the client is on its new connection and has event i.
        await until(es, ["open", "tick"], () => state.opens === drops + 1 && seen.includes(published[i]), `event #${published[i]} on connection ${drops + 1}`);
        const { status, json } = await post("/api/connections/drop", { transport: "sse" }, learner);
        assert.equal(status, 200);
        assert.equal(json.dropped, 1, `drop ${drops + 1} cut exactly one stream`);
        drops++;
        // The next events are published while the client is away (waiting `retry`).
      }
    }
    await until(es, ["tick"], () => seen.length >= 500, "all 500 events");

    assert.equal(drops, 20);
    assert.equal(seen.length, 500, "no duplicates");
    assert.deepEqual(seen, published, "every event exactly once, in order");
    assert.equal(state.resets, 0, "nothing left the replay buffer");
    assert.equal(state.mismatched, 0, "each event's data.id matches its SSE id");
    assert.equal(state.opens, 21, "one open per connection");
    assert.equal(requests.length, 21, "one request per connection, no extra reconnects");
    assert.equal(requests[0].lastEventId, null, "the first request does not resume");
    const delays = [];
    for (let n = 1; n < requests.length; n++) {
      assert.notEqual(requests[n].lastEventId, null, `reconnect ${n} sends Last-Event-ID`);
      assert.equal(requests[n].lastEventId, requests[n].lastSeen, `reconnect ${n} resumes after the last id it saw`);
      // The stream's end fires `error` (readyState CONNECTING), then the client waits `retry`.
      const err = state.errors[n - 1];
      assert.equal(err.readyState, es.CONNECTING);
      delays.push(requests[n].at - err.at);
    }
    assert.equal(state.errors.length, 20, "one error event per drop");
    // `retry: 50` was honoured, not the client's 3000 ms default.
    assert.ok(Math.min(...delays) >= RETRY_MS - 5, `reconnect delays ${delays.map(Math.round)} ≥ ${RETRY_MS} ms`);
    assert.ok(Math.max(...delays) < 1500, `reconnect delays ${delays.map(Math.round)} far below 3000 ms`);
    console.log(`reconnect delay after a drop: min ${Math.min(...delays).toFixed(0)} ms, max ${Math.max(...delays).toFixed(0)} ms (retry: ${RETRY_MS})`);
    await assertProtocol(learner);
  } finally {
    es.close();
  }
});

test("a 204 answer to the reconnect stops EventSource for good (drop with reconnect: false)", { timeout: 30_000 }, async () => {
  const learner = "conformance-stop";
  const { es, seen, requests, state } = openEventSource(learner, "stop");
  try {
    await until(es, ["open"], () => state.opens === 1, "the first open");
    const id = await publish("stop", 0);
    // With an id seen, the reconnect carries Last-Event-ID.
    await until(es, ["tick"], () => seen.includes(id), `event #${id}`);

    const { status, json } = await post("/api/connections/drop", { transport: "sse", reconnect: false }, learner);
    assert.equal(status, 200);
    assert.equal(json.dropped, 1);

    await until(es, ["error"], () => es.readyState === es.CLOSED, "readyState CLOSED");
    assert.equal(es.readyState, 2, "CLOSED");
    assert.equal(requests.length, 2, "the first request and one refused reconnect");
    assert.equal(requests[1].lastEventId, String(id), "the refused reconnect resumed after the last id");
    assert.deepEqual(state.errors.map((e) => e.code), [undefined, 204], "stream end, then the 204");
    assert.equal(state.errors[1].readyState, es.CLOSED);

    // No further request: watch for twenty times the `retry` interval.
    const more = new Promise((resolve) => setTimeout(resolve, 20 * RETRY_MS));
    await more;
    assert.equal(requests.length, 2, "no request after the 204");
    assert.equal(es.readyState, es.CLOSED);
    await assertProtocol(learner);
  } finally {
    es.close();
  }
});
