// HTTP/2 in Chromium (issue 18, acceptance 2): the server started with
// --tls --http1-port, its generated certificate accepted for the test as the
// learner accepts it once. Lesson 14's widget opens ten EventSources over
// each port: over HTTP/2 all ten receive events on one connection; over the
// HTTP/1.1-only port six do and the rest wait in the browser. The server's
// own log agrees (ten h2 streams, six http/1.1 ones). A WebSocket from a page
// that came over HTTP/2 runs as an RFC 8441 stream. The lab's browser-mode
// race over TLS says HTTP/2 in its protocol row for all four lanes. Each state
// is audited with axe-core in both themes.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { newLearner, screenshots, startBrowser, startServer } from "./harness.mjs";
import { audit, describe } from "./axe.mjs";

let browser;
let server;
before(async () => {
  browser = await startBrowser();
  server = await startServer(["--tls", "--http1-port", "0", "--sse-heartbeat-secs", "1"]);
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

const learner = (viewport) => newLearner(browser, server.base, viewport,
  { ignoreHTTPSErrors: true, alsoOrigins: [server.http1] });

/** The learner's SSE streams the server has seen open, by protocol. */
async function streamsSeen(page) {
  const log = await (await page.request.get(`${server.base}/api/traffic?limit=500`)).json();
  const opened = log.entries.filter((e) => e.transport === "sse" && e.kind === "opened");
  return {
    h2: opened.filter((e) => e.protocol === "h2").length,
    h1: opened.filter((e) => e.protocol === "http/1.1").length,
    connections: new Set(opened.filter((e) => e.protocol === "h2").map((e) => e.http2?.connection)).size,
  };
}

const tiles = (page, side, state) => page.locator(`.http2-side:has(h3:text-is("Over ${side}")) li[data-state="${state}"]`);

test("ten SSE streams: all flow over HTTP/2 on one connection; over HTTP/1.1 the seventh waits", { timeout: 120000 }, async () => {
  const { page, problems, context } = await learner({ width: 1280, height: 1100 });
  const found = [];
  try {
    await page.goto(`${server.base}/lessons/http2#ten-streams-over-http-2`);
    assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol), "h2");
    const pane = page.locator("#live-pane");
    await pane.getByText(/This page came over h2\./).waitFor();
    await pane.locator('[data-feed="ticker"]').click();
    await pane.locator('[data-feed="ticker"][data-running="true"]').waitFor();

    await pane.locator('[data-client="streams-h2"]').click();
    // Each tile counts its events: all ten reach two.
    await page.waitForFunction(() => [...document.querySelectorAll('.http2-side:first-of-type li .six-state')]
      .filter((s) => /^[2-9]\d* events$|^\d{2,} events$/.test(s.textContent)).length === 10, null, { timeout: 30000 });
    const h2 = await streamsSeen(page);
    assert.equal(h2.h2, 10, "the server saw ten HTTP/2 streams");
    assert.equal(h2.connections, 1, "all on one connection");
    await page.screenshot({ path: path.join(screenshots, "http2-ten-streams.png") });
    found.push(...await audit(page, "lesson 14, ten streams over HTTP/2"));
    await pane.locator('[data-client="streams-h2"]').click();

    await pane.locator('[data-client="streams-h1"]').click();
    await page.waitForFunction(() => {
      const side = document.querySelectorAll(".http2-side")[1];
      return [...side.querySelectorAll("li .six-state")].filter((s) => /events?$/.test(s.textContent)).length === 6;
    }, null, { timeout: 30000 });
    // A few more events later, still six: the rest wait in the browser's queue.
    const before = await streamsSeen(page);
    await page.waitForFunction(() => {
      const side = document.querySelectorAll(".http2-side")[1];
      return [...side.querySelectorAll("li .six-state")].some((s) => /^([3-9]|\d{2,}) events$/.test(s.textContent));
    }, null, { timeout: 30000 });
    assert.equal(await tiles(page, "HTTP/1.1", "open").count(), 6, "six streams open");
    assert.equal(await tiles(page, "HTTP/1.1", "waiting").count(), 4, "the seventh to tenth wait");
    const after = await streamsSeen(page);
    assert.equal(after.h1, 6, "the server saw six HTTP/1.1 streams");
    assert.equal(after.h1, before.h1, "and no more while the others waited");
    await page.screenshot({ path: path.join(screenshots, "http2-six-of-ten.png") });
    await page.emulateMedia({ colorScheme: "dark" });
    found.push(...await audit(page, "lesson 14, ten streams over HTTP/1.1, dark"));
    await page.emulateMedia({ colorScheme: "light" });
    await pane.locator('[data-client="streams-h1"]').click();

    // Fifty polls over each: the log's bytes per poll, HPACK's doing.
    await page.goto(`${server.base}/lessons/http2#fifty-polls-over-each`);
    for (const side of ["h2", "h1"]) {
      await pane.locator(`[data-client="polls-${side}"]`).click();
      await pane.getByText(/^50 polls; the last one took/).nth(side === "h2" ? 0 : 1).waitFor({ timeout: 60000 });
    }
    const log = await (await page.request.get(`${server.base}/api/traffic?limit=500`)).json();
    const perPoll = (protocol) => {
      const polls = log.entries.filter((e) => e.transport === "poll" && e.protocol === protocol);
      assert.equal(polls.length, 50, `fifty polls over ${protocol}`);
      return polls.reduce((sum, e) => sum + e.bytes_up + e.bytes_down, 0) / polls.length;
    };
    const [h2Bytes, h1Bytes] = [perPoll("h2"), perPoll("http/1.1")];
    console.log(`a poll in Chromium: ${h2Bytes.toFixed(0)} B over HTTP/2, ${h1Bytes.toFixed(0)} B over HTTP/1.1`);
    assert.ok(h2Bytes < h1Bytes / 4, `HPACK: ${h2Bytes} B per poll over HTTP/2 vs ${h1Bytes} B over HTTP/1.1`);
    found.push(...await audit(page, "lesson 14, fifty polls over each"));

    assert.equal(found.length, 0, `axe-core found ${found.length} violation(s):\n${describe(found)}`);
    assert.deepEqual(problems.consoleErrors, [], "no console errors");
    assert.deepEqual(problems.foreignRequests, [], "no request to another origin");
  } finally {
    await context.close();
  }
});

test("a WebSocket from a page served over HTTP/2 is an extended CONNECT stream (RFC 8441)", { timeout: 60000 }, async () => {
  const { page, problems, context } = await learner();
  try {
    await page.goto(`${server.base}/lessons/http2#a-websocket-over-http-2`);
    const pane = page.locator("#live-pane");
    await pane.locator('[data-client="ws"]').click();
    await pane.locator(".w-ws .widget-log li", { hasText: "welcome" }).first().waitFor();
    const log = await (await page.request.get(`${server.base}/api/traffic?limit=100`)).json();
    const opened = log.entries.filter((e) => e.transport === "websocket" && e.path?.startsWith("/api/ws"));
    assert.ok(opened.length >= 1, "the socket is in the log");
    assert.deepEqual([...new Set(opened.map((e) => e.protocol))], ["h2"], "over HTTP/2");
    assert.match(opened[0].narration ?? "", /HTTP\/2/, "and the narration says so");
    await pane.locator('[data-client="ws"]').click();
    assert.deepEqual(problems.consoleErrors, [], "no console errors");
  } finally {
    await context.close();
  }
});

test("the lab's browser race over TLS: every lane says HTTP/2", { timeout: 90000 }, async () => {
  const { page, problems, context } = await learner({ width: 1280, height: 1300 });
  try {
    await page.goto(`${server.base}/lab.html`);
    await page.fill("#race input[name=duration_s]", "3");
    await page.fill("#race input[name=rate_ms]", "500");
    await page.fill("#race input[name=poll_interval_ms]", "500");
    await page.selectOption("#race select[name=mode]", "browser");
    await page.click("#race-start");
    await page.locator(".race-table").waitFor({ timeout: 30000 });
    const row = page.locator(".race-table tr", { has: page.locator("th", { hasText: "Protocol" }) });
    assert.deepEqual(await row.locator("td").allInnerTexts(),
      ["HTTP/2", "HTTP/2", "HTTP/2", "HTTP/2 (extended CONNECT)"]);
    const run = await (await page.request.get(`${server.base}/api/lab/runs/${(await page.textContent("#race-status")).match(/#(\d+)/)[1]}`)).json();
    assert.deepEqual(run.lanes.map((l) => l.protocol), ["h2", "h2", "h2", "h2"]);
    for (const lane of run.lanes) assert.equal(lane.lost, 0, `${lane.transport} lost nothing`);
    await row.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(screenshots, "lab-race-http2.png") });
    const found = await audit(page, "lab, a browser race over HTTP/2");
    assert.equal(found.length, 0, describe(found));
    assert.deepEqual(problems.consoleErrors, [], "no console errors");
  } finally {
    await context.close();
  }
});
