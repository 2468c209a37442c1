// No resume gap at connect (issue 19): a stream opens with an `id:` line and
// no data, the newest id, which EventSource keeps as its last event id
// without firing an event. A client cut off before its first event then
// still reconnects with `Last-Event-ID` and receives what was published
// while it was away, instead of starting again from "now".
//
// npm `eventsource` (v5: v3 and v4's parser dropped an `id:` block without
// data) reads /api/sse and /api/traffic/stream through a proxy that cuts
// every connection after 0.3–1 s. The first connection is cut before any
// event exists for it and its reconnect is held while events are published:
// the case the opening id is for. Then the feed runs through random cuts.
// (Over TLS this needs undici 7: 6.29's HTTP/2 client never opened a new
// connection after the proxy cut the old one.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { EventSource } from "eventsource";
import { cuttingProxy } from "./cutting-proxy.mjs";
import { assertProtocol, base, originAt, port, publish, request, until, useServer } from "./harness.mjs";

useServer();

/** An EventSource on `url` as `learner` that records what it sees and asks. */
function watch(url, learner, eventType) {
  const seen = []; // ids, in arrival order
  const requests = []; // { lastEventId, lastSeen }
  const state = { opens: 0, errors: 0, resets: 0 };
  const es = new EventSource(url, {
    fetch: (u, init) => {
      requests.push({
        lastEventId: init.headers["Last-Event-ID"] ?? null,
        lastSeen: seen.length ? String(seen.at(-1)) : null,
      });
      return request(u, { ...init, headers: { ...init.headers, "X-Learner": learner } });
    },
  });
  es.addEventListener("open", () => state.opens++);
  es.addEventListener("error", () => state.errors++);
  es.addEventListener("reset", () => state.resets++);
  es.addEventListener(eventType, (e) => seen.push(Number(e.lastEventId)));
  return { es, seen, requests, state };
}

/**
 * Runs `total` items of a feed (`produce()` makes one and returns its id, or
 * nothing when the id is read later) through a cutting proxy; returns what
 * the client saw and asked for.
 */
async function throughCuts({ path, learner, eventType, total, produce }) {
  const proxy = await cuttingProxy(port, { lifetimeMs: [300, 1000] });
  const client = watch(originAt(proxy.port) + path, learner, eventType);
  const { es, seen, state } = client;
  const produced = [];
  try {
    // 1. Cut before the first event: the reconnect waits while 5 are made.
    await until(es, ["open"], () => state.opens === 1, "the first open");
    proxy.holdNext();
    await until(es, ["error"], () => state.errors === 1, "the first cut");
    for (let i = 0; i < 5; i++) produced.push(await produce(i));
    proxy.release();
    await until(es, [eventType], () => seen.length >= 5, "the 5 made while away").catch((err) => {
      // What the client asked for and what reached the proxy say which side stalled.
      console.log(JSON.stringify({ requests: client.requests, seen, produced, proxy: proxy.stats }));
      throw err;
    });
    // 2. The rest at random gaps (load shaping, not synchronisation) while
    //    the proxy keeps cutting.
    for (let i = 5; i < total; i++) {
      produced.push(await produce(i));
      await sleep(Math.random() * 30);
    }
    await until(es, [eventType], () => seen.length >= total, `all ${total}`);
    return { ...client, produced, cuts: proxy.stats.cuts };
  } finally {
    es.close();
    await proxy.close();
  }
}

/** The first reconnect resumed from the opening id, before any event was seen. */
function assertResumedFromOpening(requests) {
  assert.equal(requests[0].lastEventId, null, "the first request does not resume");
  assert.equal(requests[1].lastSeen, null, "no event had arrived before the first cut");
  assert.match(String(requests[1].lastEventId), /^\d+$/, "yet the reconnect sends Last-Event-ID: the opening id");
  for (const [n, r] of requests.entries()) {
    if (r.lastSeen !== null) assert.equal(r.lastEventId, r.lastSeen, `reconnect ${n} resumes after the last id seen`);
  }
}

test("/api/sse through a proxy that cuts every 0.3–1 s while 300 events are published: 0 lost, 0 duplicated", { timeout: 90_000 }, async () => {
  const learner = "resume-at-connect";
  const run = await throughCuts({
    path: "/api/sse?topics=gap",
    learner,
    eventType: "tick",
    total: 300,
    produce: (i) => publish("gap", i),
  });
  assert.equal(run.seen.length, 300, "no duplicates");
  assert.deepEqual(run.seen, run.produced, "every event exactly once, in order");
  assert.equal(run.state.resets, 0, "nothing left the replay buffer");
  assert.ok(run.cuts >= 5, `the proxy cut ${run.cuts} connections`);
  assertResumedFromOpening(run.requests);
  console.log(`/api/sse: 300 events over ${run.requests.length} connections, ${run.cuts} cut by the proxy`);
  await assertProtocol(learner);
});

test("/api/traffic/stream through the same cuts: every entry of 150 polls exactly once", { timeout: 90_000 }, async () => {
  const learner = "resume-at-connect-log";
  const poll = async () => {
    const res = await request(`${base}/api/poll?topics=none`, { headers: { "X-Learner": learner } });
    await res.arrayBuffer();
    assert.ok(res.ok, `poll answered ${res.status}`);
  };
  const run = await throughCuts({
    path: "/api/traffic/stream?transport=poll",
    learner,
    eventType: "entry",
    total: 150,
    produce: poll,
  });
  // The log's own record of the polls: their seqs are what the stream owed.
  const res = await request(`${base}/api/traffic?transport=poll&limit=10000`, { headers: { "X-Learner": learner } });
  const logged = (await res.json()).entries.map((e) => e.seq);
  assert.equal(logged.length, 150, "one entry per poll");
  assert.deepEqual(run.seen, logged, "every entry exactly once, in order");
  assert.equal(run.state.resets, 0);
  assert.ok(run.cuts >= 3, `the proxy cut ${run.cuts} connections`);
  assertResumedFromOpening(run.requests);
  console.log(`/api/traffic/stream: 150 entries over ${run.requests.length} connections, ${run.cuts} cut by the proxy`);
});
