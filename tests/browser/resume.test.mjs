// Chromium's own EventSource and the stream's opening `id:` (issue 19): an
// `id:` line with no data sets the browser's last event id without firing
// an event, so a stream cut before its first event still reconnects with
// Last-Event-ID and gets what was published while it was away. Lesson 04
// says so; this checks it in today's Chromium.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { newLearner, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  // A long retry: the three events are published while the browser waits it.
  server = await startServer(["--sse-retry-ms", "3000"]);
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("cut before its first event, EventSource resumes from the opening id and misses nothing", { timeout: 30000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/traffic.html`);
  const result = await page.evaluate(async () => {
    const json = async (url, init) => (await fetch(url, init)).json();
    const post = (url, body) =>
      json(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const seen = [];
    let opens = 0;
    const es = new EventSource("/api/sse?topics=resume-gap");
    es.addEventListener("open", () => opens++);
    es.addEventListener("note", (e) => seen.push(e.lastEventId));
    es.onmessage = (e) => seen.push(e.lastEventId);
    await new Promise((r) => es.addEventListener("open", r, { once: true }));
    // The server has written the opening block once it logged its id field.
    let opening;
    for (const until = Date.now() + 5000; !opening && Date.now() < until; ) {
      const { entries } = await json("/api/traffic?transport=sse");
      opening = entries.find((e) => e.frame === "id");
      if (!opening) await new Promise((r) => setTimeout(r, 50));
    }
    const { dropped } = await post("/api/connections/drop", { transport: "sse" });
    const published = [];
    for (let i = 0; i < 3; i++) {
      published.push(String((await post("/api/events", { topic: "resume-gap", type: "note", data: { i } })).id));
    }
    const deadline = Date.now() + 10000; // well past the 3 s retry
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    es.close();
    return { opening: opening?.preview ?? null, dropped, published, seen, opens };
  });
  assert.equal(result.dropped, 1, "the stream was cut");
  assert.deepEqual(result.seen, result.published, "the events published while away arrived, once each");
  assert.match(String(result.opening), /^\d+$/, "the opening block carried an id");
  assert.equal(result.opens, 2, "one reconnect");
  assert.deepEqual(problems.consoleErrors, []);
  await context.close();
});
