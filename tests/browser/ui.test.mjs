// The real UI in headless Chromium (lessons.test.mjs walks every lesson):
// EventSource resuming after a drop, the WebSocket pane,
// Swagger UI's "Try it out", learner text shown as text, no console errors,
// no request to another origin. Screenshots go to target/screenshots/.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { newLearner, screenshots, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer(["--sse-heartbeat-secs", "1", "--long-poll-timeout-secs", "2", "--sse-retry-ms", "300"]);
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

test("EventSource resumes with Last-Event-ID after the server drops it", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/lessons/sse`);
  await page.locator(".w-sse button").first().click();
  await page.locator(".w-sse .widget-log li", { hasText: "stream open" }).first().waitFor();
  await page.request.post(`${server.base}/api/events`, { data: { topic: "demo", data: { n: 1 } } });
  await page.locator(".w-sse .widget-log li.news").first().waitFor();
  await page.getByRole("button", { name: "Drop my connection (server side)" }).click();
  await page.request.post(`${server.base}/api/events`, { data: { topic: "demo", data: { n: 2 } } });
  // The missed event arrives after the automatic reconnect.
  await page.locator(".w-sse .widget-log li.news").nth(1).waitFor({ timeout: 15000 });
  const traffic = await (await page.request.get(`${server.base}/api/traffic?transport=sse`)).json();
  const opened = traffic.entries.filter((e) => e.kind === "opened");
  assert.ok(opened.length >= 2, "the browser opened a second stream");
  const events = traffic.entries.filter((e) => e.kind === "event").map((e) => e.event_ids[0]);
  assert.equal(new Set(events).size, events.length, "no event delivered twice");
  assertClean(problems);
  await context.close();
});

test("the SSE widget shows every event type, one the learner made up too", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/lessons/sse`);
  await page.locator(".w-sse button").first().click();
  await page.locator(".w-sse .widget-log li", { hasText: "stream open" }).first().waitFor();
  // EventSource drops a named event nobody listens for: the widget lists its
  // types with named=, so "my-thing" arrives unnamed and reaches onmessage.
  await page.request.post(`${server.base}/api/events`, { data: { topic: "demo", type: "my-thing", data: { text: "mine" } } });
  await page.request.post(`${server.base}/api/events`, { data: { topic: "demo", type: "note", data: { text: "after it" } } });
  // Events arrive in order: once the note is here, "my-thing" came or never will.
  await page.locator(".w-sse .widget-log li", { hasText: "demo/note" }).waitFor();
  const lines = await page.locator(".w-sse .widget-log li").evaluateAll((lis) => lis.map((li) => [li.dataset.kind, li.textContent]));
  const mine = lines.filter(([, text]) => text.includes("demo/my-thing"));
  assert.equal(mine.length, 1, `the made-up type shows once: ${JSON.stringify(lines)}`);
  assert.equal(mine[0][0], "news", "an event is logged as news, whatever its words");
  assertClean(problems);
  await context.close();
});

test("every page has the one shared head and navigation, its own link marked", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  for (const [path, current] of [["/", null], ["/lab.html", "/lab.html"], ["/traffic.html", "/traffic.html"], ["/lessons/", "/lessons/"], ["/lessons/polling", null]]) {
    const res = await page.goto(`${server.base}${path}`);
    assert.doesNotMatch(await res.text(), /<!--#include/, `${path}: every marker was replaced`);
    const links = await page.locator("header.top nav a").evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute("aria-current")]));
    assert.deepEqual(links.map(([text]) => text), ["Lessons", "Lab", "Traffic log", "Swagger UI", "OpenAPI"], path);
    const marked = links.filter(([, aria]) => aria === "page").map(([text]) => text);
    const expected = { "/lab.html": ["Lab"], "/traffic.html": ["Traffic log"], "/lessons/": ["Lessons"] }[current] ?? [];
    assert.deepEqual(marked, expected, `${path}: the current page's link`);
    assert.equal(await page.locator('head meta[charset="utf-8"]').count(), 1, path);
    assert.equal(await page.locator('head link[rel="stylesheet"][href="/style.css"]').count(), 1, path);
  }
  // The lab points Swagger UI at its own operations.
  await page.goto(`${server.base}/lab.html`);
  await page.waitForFunction(() => document.getElementById("swagger-link").hash === "#/Comparison%20lab");
  assertClean(problems);
  await context.close();
});

test("the WebSocket pane sends and receives", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/lessons/websockets`);
  await page.locator(".w-ws").getByRole("button", { name: "Connect" }).click();
  await page.locator(".w-ws .widget-log li", { hasText: '"type":"welcome"' }).waitFor();
  await page.fill(".w-ws input[type=text]", '{"type":"echo","data":"round trip"}');
  await page.locator(".w-ws").getByRole("button", { name: "Send", exact: true }).click();
  await page.locator(".w-ws .widget-log li", { hasText: "round trip" }).nth(1).waitFor();
  assertClean(problems);
  await context.close();
});

test("learner-supplied text is shown as text", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
  await page.goto(`${server.base}/lessons/common-mistake#one-chat-built-twice`);
  await page.locator(".chat-grid").waitFor();
  await page.locator('.chat-grid [data-client="sse"]').click();
  await page.fill('.chat-grid [data-action="chat-text"][data-side="sse"]', evil);
  await page.locator('.chat-grid [data-action="chat-send"][data-side="sse"]').click();
  await page.locator(".chat-grid li", { hasText: "onerror" }).first().waitFor();
  await page.goto(`${server.base}/`);
  // Publish until the page's stream (opened after load) has picked one up.
  const shown = page.locator("#tail li", { hasText: "onerror" }).first();
  for (let i = 0; i < 20 && !(await shown.isVisible()); i++) {
    await page.request.post(`${server.base}/api/events`, { data: { topic: "demo", type: "message", data: { text: evil } } });
    await page.waitForTimeout(300);
  }
  await shown.waitFor();
  await page.goto(`${server.base}/traffic.html`);
  await page.locator(".timeline .row").first().waitFor();
  assert.equal(await page.evaluate(() => window.__pwned), undefined, "no injected script ran");
  assert.equal(await page.locator("img[src=x]").count(), 0, "no injected element exists");
  assertClean(problems);
  await context.close();
});

test("Swagger UI loads offline and Try it out returns", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/docs`);
  for (const [op, fill] of [
    ["#operations-Polling-get_api_poll", null],
    ["#operations-Server-Sent_Events-get_api_sse", { limit: "3", duration: "5" }],
  ]) {
    await page.click(`${op} .opblock-summary`);
    await page.click(`${op} .try-out__btn`);
    for (const [name, value] of Object.entries(fill ?? {})) {
      await page.fill(`${op} tr[data-param-name="${name}"] input`, value);
    }
    await page.click(`${op} .execute`);
    await page.locator(`${op} .live-responses-table .response-col_status`).first().waitFor({ timeout: 20000 });
  }
  await page.screenshot({ path: path.join(screenshots, "swagger.png") });
  assertClean(problems);
  await context.close();
});

test("a page's buttons wait for its script: an early click cannot submit a form as a reload", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  await page.route("**/js/lab.js", async (route) => { await gate; await route.continue(); });
  await page.goto(`${server.base}/lab.html`, { waitUntil: "commit" });
  const start = page.locator("#race-start");
  await start.waitFor();
  assert.equal(await start.isDisabled(), true, "disabled while lab.js is on its way");
  release();
  await page.waitForFunction(() => !document.getElementById("race-start").disabled);
  assert.equal(await page.locator("[data-needs-script]").count(), 0, "every button armed");
  assertClean(problems);
  await context.close();
});

test("the lab races four lanes and fills in the table", async () => {
  const { page, problems, context } = await newLearner(browser, server.base, { width: 1280, height: 1300 });
  await page.goto(`${server.base}/`);
  await page.getByRole("link", { name: "Lab" }).first().click();
  await page.fill("input[name=duration_s]", "3");
  await page.fill("input[name=rate_ms]", "500");
  await page.fill("input[name=poll_interval_ms]", "500");
  await page.click("#race-start");
  await page.locator(".race-table").waitFor({ timeout: 20000 });
  const text = await page.locator(".race-table").innerText();
  for (const lane of ["Polling", "Long-polling", "SSE", "WebSockets"]) assert.ok(text.includes(lane));
  assert.ok(text.includes("0 lost, 0 duplicated"), text);
  const protocols = await page.locator(".race-table tr", { has: page.locator("th", { hasText: "Protocol" }) }).locator("td").allInnerTexts();
  assert.deepEqual(protocols, ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1"], "the server's clients speak HTTP/1.1");
  assert.ok(await page.locator("#export-csv").getAttribute("href"));
  // A fault switch round trip.
  await page.fill("input[name=idle_timeout_s]", "30");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.locator("#faults-status", { hasText: "Applied" }).waitFor();
  const faults = await (await page.request.get(`${server.base}/api/faults`)).json();
  assert.equal(faults.idle_timeout_s, 30);
  // The newer switches, and an action, by their labels.
  await page.getByLabel("gzip on my SSE streams").selectOption("flushed");
  await page.getByLabel("Corporate proxy").check();
  await page.getByRole("button", { name: "Apply" }).click();
  await page.locator("#faults-status", { hasText: "Applied" }).waitFor();
  const more = await (await page.request.get(`${server.base}/api/faults`)).json();
  assert.equal(more.gzip, "flushed");
  assert.equal(more.corporate_proxy, true);
  await page.getByRole("button", { name: "Go half-open" }).click();
  await page.locator("#actions-status", { hasText: "went silent" }).waitFor();
  await page.getByRole("button", { name: "Reset all" }).click();
  // A small reconnect storm, charted.
  const storm = page.getByRole("region", { name: "Reconnect storm" });
  await storm.getByLabel(/Clients/).fill("20");
  await storm.getByLabel(/Retry or back-off base/).fill("200");
  await storm.getByRole("button", { name: "Start the storm" }).click();
  await page.locator(".storm-run").waitFor({ timeout: 30000 });
  assert.match(await page.locator(".storm-run").innerText(), /20 of 20 clients back/);
  // A challenge, solved from this page's own traffic: one stream, ten events.
  const card = page.locator("#challenge-ten-updates-three-requests");
  await card.getByRole("button", { name: "Start" }).click();
  await card.locator(".challenge-state", { hasText: "In progress" }).waitFor();
  await page.evaluate(async () => {
    window.__stream = new EventSource("/api/sse?topics=golf");
    await new Promise((r) => window.__stream.addEventListener("open", r, { once: true }));
    for (let i = 0; i < 10; i++) {
      await fetch("/api/events", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ topic: "golf", data: { i } }) });
    }
  });
  await card.locator(".challenge-state", { hasText: "Solved" }).waitFor({ timeout: 10000 });
  assert.match(await card.innerText(), /Best: 1/);
  await page.evaluate(() => window.__stream.close());
  await page.screenshot({ path: path.join(screenshots, "lab.png"), fullPage: true });
  assertClean(problems);
  await context.close();
});

test("a seventh SSE stream waits for a free connection (HTTP/1.1)", async () => {
  const { page, problems, context } = await newLearner(browser, server.base, { width: 1280, height: 1300 });
  await page.goto(`${server.base}/lab.html`);
  await page.click("#six-open");
  await page.waitForFunction(() => document.querySelectorAll('#six li[data-state="open"]').length === 6);
  await page.waitForTimeout(1500);
  assert.equal(await page.locator('#six li[data-state="open"]').count(), 6, "six streams open");
  assert.equal(await page.locator('#six li[data-state="waiting"]').count(), 1, "the seventh still waits");
  await page.screenshot({ path: path.join(screenshots, "lab-six-connections.png") });
  await page.click("#six-close");
  assertClean(problems);
  await context.close();
});

test("the lab's browser mode races this browser's own clients", async () => {
  const { page, problems, context } = await newLearner(browser, server.base, { width: 1280, height: 1300 });
  await page.goto(`${server.base}/lab.html`);
  await page.fill("#race input[name=duration_s]", "3");
  await page.fill("#race input[name=rate_ms]", "500");
  await page.fill("#race input[name=poll_interval_ms]", "500");
  await page.fill("#race input[name=burst]", "2");
  await page.selectOption("#race select[name=mode]", "browser");
  await page.click("#race-start");
  await page.locator(".race-live .bar-row").first().waitFor();
  await page.locator(".race-table").waitFor({ timeout: 20000 });
  const run = await (await page.request.get(`${server.base}/api/lab/runs/${(await page.textContent("#race-status")).match(/#(\d+)/)[1]}`)).json();
  assert.equal(run.mode, "browser");
  assert.equal(run.lanes.length, 4);
  for (const lane of run.lanes) {
    assert.equal(lane.lost, 0, `${lane.transport} lost nothing`);
    assert.equal(lane.duplicated, 0, `${lane.transport} duplicated nothing`);
    assert.ok(lane.bytes_down > 0, `${lane.transport} bytes measured`);
  }
  // The chat, both ways, with its cost.
  await page.click("#chat-start");
  await page.locator('.chat-grid section[aria-label="WebSocket"] .widget-status', { hasText: "open and subscribed" }).waitFor();
  await page.locator('.chat-grid [data-action="chat-send"][data-side="sse"]').click();
  await page.locator('.chat-grid [data-action="chat-send"][data-side="ws"]').click();
  await page.locator("#chat-cost", { hasText: "1 POST" }).waitFor();
  await page.locator("#chat-cost", { hasText: "1 chat message sent" }).waitFor();
  await page.screenshot({ path: path.join(screenshots, "lab-browser-race.png"), fullPage: true });
  assertClean(problems);
  await context.close();
});

test("the load lab measures what each connection costs the server", { timeout: 120000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base, { width: 1280, height: 1300 });
  await page.goto(`${server.base}/lab.html`);
  for (const [name, value] of [["sse", "60"], ["websockets", "60"], ["long_pollers", "5"], ["pollers", "10"],
    ["poll_interval_ms", "250"], ["rate", "20"], ["duration_s", "3"]]) {
    await page.fill(`#load input[name=${name}]`, value);
  }
  await page.click("#load-start");
  await page.locator("#load-status", { hasText: "running" }).waitFor();
  await page.locator(".load-table").waitFor({ timeout: 90000 });
  assert.match(await page.textContent("#load-status"), /done/);
  assert.equal(await page.locator(".load-table tbody tr").count(), 4, "one row per kind of client");
  assert.match(await page.textContent(".load-sentence"), /60 SSE connections cost the server [\d.]+ MiB \([\d.]+ KiB each\)/);
  assert.equal(await page.locator(".load-bars").count(), 2, "memory and delay charts");
  await page.locator("#load-h").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(screenshots, "lab-load.png") });
  assertClean(problems);
  await context.close();
});

test("the lesson contents keep keyboard focus across progress refreshes", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/lessons/polling`);
  const link = page.locator("#toc .toc-link").nth(1);
  await link.waitFor();
  await link.focus();
  await page.evaluate(() => { window.focusedLink = document.activeElement; });
  // Three refreshes answered: the first two have been drawn by the time the third arrives.
  const refreshed = () => page.waitForResponse((r) => r.url().endsWith("/api/lessons/polling/progress") && r.request().method() === "POST");
  for (let i = 0; i < 3; i++) await refreshed();
  assert.equal(await page.evaluate(() => document.activeElement === window.focusedLink && window.focusedLink.isConnected), true,
    "the focused link is still the one in the page, and still focused");
  assertClean(problems);
  await context.close();
});
