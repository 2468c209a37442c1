// The sequence diagram of a learner's own traffic, in headless Chromium:
// the four transports driven by the page's own clients and drawn with the
// right kinds of arrows (docs/screenshots/sequence.png is taken here); pause
// freezes the drawing without losing entries; then 20 events/s for 5 s with
// the renderer's cost per frame measured in the page and printed; and the
// arrows' counts checked against the server's own log, so merging never
// loses an entry. Also: the lesson step, a narrow screen, the keyboard.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { newLearner, screenshots, startBrowser, startServer } from "./harness.mjs";

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/screenshots");
const RATE_PER_S = 20;
const SECONDS = 5;

let server;
let browser;

before(async () => {
  server = await startServer(["--sse-heartbeat-secs", "1", "--long-poll-timeout-secs", "2"]);
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

function assertClean(problems) {
  assert.deepEqual(problems.consoleErrors, [], "no console errors");
  assert.deepEqual(problems.foreignRequests, [], "no request to another origin");
}

/** Evaluates an async `fn` in the page every 250 ms until it returns something truthy. */
async function until(page, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await page.evaluate(fn);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${fn.name}`);
    await page.waitForTimeout(250);
  }
}

const arrow = (page, selector) => page.locator(`.seq-arrow${selector}`).first();

/** Per column, the sum of the drawn arrows' counts, read from the SVG itself. */
function drawnCounts() {
  const by = {};
  for (const g of document.querySelectorAll(".seq-arrow")) {
    by[g.dataset.column] = (by[g.dataset.column] ?? 0) + Number(g.dataset.count);
  }
  return by;
}

/** True once the drawing matches the server's log of this learner, entry for entry. */
async function drawingMatchesLog() {
  const { entries } = await (await fetch("/api/traffic?limit=10000")).json();
  const logged = {};
  for (const e of entries) logged[e.transport] = (logged[e.transport] ?? 0) + 1;
  const root = document.querySelector(".seq");
  const by = {};
  for (const g of document.querySelectorAll(".seq-arrow")) {
    by[g.dataset.column] = (by[g.dataset.column] ?? 0) + Number(g.dataset.count);
  }
  const columns = ["poll", "long_poll", "sse", "websocket"];
  return Number(root.dataset.received) === entries.length
    && Number(root.dataset.other) === (logged.api ?? 0)
    && columns.every((c) => (by[c] ?? 0) === (logged[c] ?? 0))
    && JSON.stringify({ logged, by, received: root.dataset.received });
}

test("four transports as arrows; 20 events/s drawn within a frame, none lost", { timeout: 180000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base, { width: 1280, height: 1000 });
  await page.goto(`${server.base}/lab.html`);
  await page.getByRole("button", { name: "Draw my traffic" }).click();
  await page.locator(".seq-svg").waitFor();
  await page.getByRole("button", { name: "Start the four clients" }).click();

  // Opening: SSE's 200 and the WebSocket's 101, then its subscribe frame up.
  await arrow(page, ".c-sse.s-handshake").waitFor();
  await arrow(page, ".c-websocket.s-handshake").waitFor();
  await arrow(page, ".c-websocket.s-frame-up").waitFor();
  assert.match(await arrow(page, ".c-websocket.s-handshake").locator(".label.answer").textContent(), /^101 Switching Protocols · \d+ B$/);
  assert.match(await arrow(page, ".c-websocket.s-frame-up").locator(".label").textContent(), /^text \{"type":"subscribe"\} · \d+ B/);

  // Something to deliver, three times, each reaching all four columns.
  for (let i = 1; i <= 3; i++) {
    await page.getByRole("button", { name: "Publish an event" }).click();
    await page.waitForFunction((n) => document.querySelector(".seq").diagram.model.bands
      .flatMap((b) => b.arrows).filter((a) => a.transport === "websocket" && a.shape === "push")
      .reduce((sum, a) => sum + a.count, 0) >= n, i);
  }
  await arrow(page, ".c-poll.s-exchange.tone-news").waitFor();
  await arrow(page, ".c-poll.s-exchange.tone-empty").waitFor();
  await arrow(page, ".c-long_poll.s-exchange.tone-news").waitFor();
  await arrow(page, ".c-long_poll.s-exchange.tone-empty").waitFor(); // the 2 s wait ran out
  await arrow(page, ".c-sse.s-push").waitFor();
  const heartbeat = page.locator(".seq-arrow.c-sse.s-frame-down .label", { hasText: "heartbeat" }).first();
  await heartbeat.waitFor();
  await arrow(page, ".c-websocket.s-push").waitFor();
  // Every label says its size with a unit, and the time it took where there is one.
  assert.match(await arrow(page, ".c-poll.tone-empty").locator(".label.answer").textContent(), /^204 · 0 B body · \d+ B · [\d.]+ ms$/);
  assert.match(await arrow(page, ".c-poll.tone-news").locator(".label.answer").textContent(), /^200 · \d+ events? · [\d.]+ K?B · [\d.]+ ms$/);
  assert.match(await arrow(page, ".c-poll.tone-news").locator(".label").first().textContent(), /^GET \/api\/poll · \d+ B$/);
  assert.match(await arrow(page, ".c-long_poll.tone-empty").locator(".label.answer").textContent(), /^204 · 0 B body · \d+ B · 2\.\d s$/);
  assert.match(await arrow(page, ".c-sse.s-push").locator(".label").textContent(), /^(event|×\d+ events) · \d+ B · (≤ )?[\d.]+ ms$/);
  assert.match(await heartbeat.textContent(), /^(heartbeat|×\d+ heartbeat) · \d+ B$/);
  // Empty answers look different from answers with news.
  const stroke = (sel) => page.locator(`.seq-arrow${sel} .line.answer`).first().evaluate((n) => getComputedStyle(n).strokeDasharray);
  assert.notEqual(await stroke(".c-poll.tone-empty"), await stroke(".c-poll.tone-news"));
  // From the top: the handshakes, the first polls, the first events.
  const section = page.locator("section[aria-labelledby=sequence-h]");
  await page.locator(".seq-scroll").evaluate((n) => { n.scrollTop = 0; });
  await section.screenshot({ path: path.join(docs, "sequence.png") });
  await page.emulateMedia({ colorScheme: "dark" });
  await section.screenshot({ path: path.join(screenshots, "sequence-dark.png") });
  await page.emulateMedia({ colorScheme: "light" });
  await page.locator(".seq-scroll").evaluate((n) => { n.scrollTop = n.scrollHeight; }); // follow again

  // Pause freezes the picture; the entries keep being counted, then drawn.
  const pause = page.locator(".seq-toolbar button");
  await pause.click();
  const frozen = await page.evaluate(drawnCounts);
  const before = await page.evaluate(() => document.querySelector(".seq").diagram.model.received);
  await page.getByRole("button", { name: "Publish an event" }).click();
  await page.waitForFunction((n) => document.querySelector(".seq").diagram.model.received >= n + 4, before);
  assert.deepEqual(await page.evaluate(drawnCounts), frozen, "nothing drawn while paused");
  assert.match(await pause.textContent(), /^Resume \(\d+ new\)$/);
  await pause.click();
  await page.waitForFunction(() => {
    const d = document.querySelector(".seq").diagram;
    return d.dirty.size === 0 && Number(d.root.dataset.shown) === d.model.shown;
  });

  // 20 events/s for 5 s, published with fetch while all four clients run.
  await page.evaluate(() => {
    const d = document.querySelector(".seq").diagram;
    d.frameTimes.length = 0;
    window.longFrames = [];
    new PerformanceObserver((list) => window.longFrames.push(...list.getEntries().map((e) => e.duration)))
      .observe({ type: "long-animation-frame", buffered: false });
  });
  const statuses = await page.evaluate(async ({ rate, seconds }) => {
    const posts = [];
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        posts.push(fetch("/api/events", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ topic: "demo", type: "note", data: { n: posts.length } }),
        }).then(async (r) => ({ status: r.status, id: r.ok ? (await r.json()).id : null })));
        if (posts.length >= rate * seconds) {
          clearInterval(timer);
          resolve();
        }
      }, 1000 / rate);
    });
    return Promise.all(posts);
  }, { rate: RATE_PER_S, seconds: SECONDS });
  assert.deepEqual([...new Set(statuses.map((s) => s.status))], [202], "every publish accepted");
  const lastId = Math.max(...statuses.map((s) => s.id));
  // Wait until the last event reached both push columns, and all of it is drawn.
  await page.waitForFunction((id) => {
    const d = document.querySelector(".seq").diagram;
    const pushes = d.model.bands.flatMap((b) => b.arrows).filter((a) => a.shape === "push");
    return ["sse", "websocket"].every((t) => pushes.some((a) => a.transport === t && a.lastEventId >= id))
      && d.dirty.size === 0;
  }, lastId, { timeout: 30000 });
  const cost = await page.evaluate(() => ({
    ...document.querySelector(".seq").diagram.renderStats(),
    longFrames: window.longFrames.length,
    longestFrame: Math.max(0, ...window.longFrames),
  }));
  console.log(`sequence diagram at ${RATE_PER_S} events/s for ${SECONDS} s: ${cost.frames} renders, ` +
    `p50 ${cost.p50.toFixed(2)} ms, p95 ${cost.p95.toFixed(2)} ms, max ${cost.max.toFixed(2)} ms per frame; ` +
    `${cost.longFrames} long animation frames (longest ${cost.longestFrame.toFixed(0)} ms, whole page)`);
  assert.ok(cost.frames >= SECONDS * 5, `the diagram kept drawing (${cost.frames} renders)`);
  assert.ok(cost.p95 <= 16, `p95 ${cost.p95} ms per frame is within a 60 Hz frame`);

  // Merging happened, and kept every entry.
  const sse = await page.evaluate(() => [...document.querySelectorAll(".seq-arrow.c-sse.s-push")].map((g) => Number(g.dataset.count)));
  assert.ok(sse.length < sse.reduce((a, n) => a + n, 0), `SSE events merged into fewer arrows (${sse.length} arrows)`);
  assert.match(await page.locator(".seq-arrow.c-sse.s-push[data-count]:not([data-count='1']) .label").first().textContent(),
    /^×\d+ events · [\d.]+ K?B · ≤ [\d.]+ ms$/);

  // Following: the newest arrows are in view at the bottom.
  await page.waitForFunction(() => {
    const s = document.querySelector(".seq-scroll");
    return s.scrollHeight > 2 * s.clientHeight && s.scrollTop + s.clientHeight >= s.scrollHeight - 8;
  });
  // Reading older arrows (scrolled up with the keyboard): new traffic moves nothing in view.
  const scroller = page.locator(".seq-scroll");
  await scroller.focus();
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains("seq-scroll")), true);
  // Keyboard scrolling is animated: wait for it to end above where it started.
  await scroller.evaluate((n) => {
    const bottom = n.scrollTop;
    window.scrolledUp = new Promise((resolve) => {
      n.addEventListener("scrollend", function ended() {
        if (n.scrollTop < bottom) {
          n.removeEventListener("scrollend", ended);
          resolve();
        }
      });
    });
  });
  await page.keyboard.press("PageUp");
  await page.evaluate(() => window.scrolledUp);
  const inView = () => {
    const s = document.querySelector(".seq-scroll").getBoundingClientRect();
    const g = [...document.querySelectorAll(".seq-arrow")].find((n) => {
      const r = n.getBoundingClientRect();
      return r.top > s.top + 60 && r.bottom < s.bottom;
    });
    g.dataset.watched = "yes";
    return g.getBoundingClientRect().top;
  };
  const watchedTop = await page.evaluate(inView);
  const received = await page.evaluate(() => document.querySelector(".seq").diagram.model.received);
  await page.getByRole("button", { name: "Publish an event" }).click();
  await page.waitForFunction((n) => {
    const d = document.querySelector(".seq").diagram;
    return d.model.received >= n + 4 && d.dirty.size === 0 && !d.frame;
  }, received);
  assert.equal(await page.evaluate(() => document.querySelector("[data-watched]").getBoundingClientRect().top), watchedTop,
    "the arrow being read did not move");

  // Closing: both long-lived connections end with a mark.
  await page.getByRole("button", { name: "Stop the four clients" }).click();
  await arrow(page, ".c-sse.s-close").waitFor();
  await arrow(page, ".c-websocket.s-close").waitFor();
  assert.match(await arrow(page, ".c-sse.s-close").locator(".label").textContent(), /^✕ closed · [\d.]+ s · the client/);
  assert.match(await arrow(page, ".c-websocket.s-close").locator(".label").textContent(), /^✕ closed 1000 · [\d.]+ s · the client/);

  // No arrow lost: the drawing's counts equal the server's log, per column.
  // (page.waitForFunction would take the pending Promise itself as "true".)
  console.log(`drawn = logged: ${await until(page, drawingMatchesLog, 20000)}`);
  assert.equal(await page.locator(".seq").getAttribute("data-evicted"), "0", "all of it is inside the 60 s window");

  // The text alternative.
  const rows = page.locator(".seq .visually-hidden table tbody tr");
  assert.equal(await rows.count(), 30);
  assert.match(await rows.last().textContent(), /WebSocket|SSE|Polling|Long-polling/);
  assertClean(problems);
  await context.close();
});

test("the lesson step draws arrows; on a narrow screen the columns scroll, not the page", { timeout: 60000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base, { width: 400, height: 800 });
  await page.goto(`${server.base}/lessons/key-differences#your-traffic-as-arrows`);
  await page.locator(".live-pane .w-sequence .seq-svg").waitFor();
  await page.locator(".live-pane").getByRole("button", { name: "Start the four clients" }).click();
  await arrow(page, ".c-sse.s-handshake").waitFor();
  await page.locator(".live-pane").getByRole("button", { name: "Publish an event" }).click();
  await arrow(page, ".c-sse.s-push").waitFor({ timeout: 15000 });
  const widths = await page.evaluate(() => {
    const s = document.querySelector(".seq-scroll");
    const box = document.querySelector(".w-sequence");
    return { inner: s.scrollWidth, outer: s.clientWidth, widget: box.scrollWidth, widgetBox: box.clientWidth, viewport: innerWidth };
  });
  assert.ok(widths.inner > widths.outer, `the four columns scroll sideways (${JSON.stringify(widths)})`);
  // (The lesson's own markdown table may be wider than 400 px; the widget is not.)
  assert.ok(widths.widget <= widths.widgetBox && widths.widgetBox <= widths.viewport, `the widget itself does not (${JSON.stringify(widths)})`);
  await page.screenshot({ path: path.join(screenshots, "sequence-narrow.png"), fullPage: false });
  await page.locator(".live-pane").getByRole("button", { name: "Stop the four clients" }).click();
  assertClean(problems);
  await context.close();
});
