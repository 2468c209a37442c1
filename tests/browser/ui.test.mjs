// The real UI in headless Chromium: every lesson stepped through and
// ticked, play mode, EventSource resuming after a drop, the WebSocket pane,
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

const stepDone = (page, id) =>
  page.waitForSelector(`.toc-link.done[href="#${id}"]`, { timeout: 45000 });

/** Does what a step asks for when it has no play script. */
async function doByHand(page, step) {
  // Widgets are loaded on demand; wait for this step's to be in the pane.
  if (step.widget) await page.locator(`.live-pane .w-${step.widget}`).waitFor();
  switch (step.widget) {
    case "publish":
      await page.click(".live-pane .widget-controls button");
      break;
    case "decide": {
      const best = {
        notifications: "SSE", dashboard: "SSE", stocks: "SSE", activity: "SSE",
        chat: "WebSockets", game: "WebSockets", collab: "WebSockets", "nightly-report": "Polling",
      };
      const items = page.locator(".decide > li");
      await items.first().waitFor();
      const n = await items.count();
      assert.ok(n >= 7, "the decision exercise lists the scenarios");
      for (let i = 0; i < n; i++) {
        const title = await items.nth(i).locator(".scenario").textContent();
        const id = Object.keys(best).find((k) => title.toLowerCase().includes(
          { notifications: "notification", dashboard: "dashboard", stocks: "stock", activity: "activity",
            chat: "chat", game: "game", collab: "collaborative", "nightly-report": "report" }[k]));
        await items.nth(i).getByRole("button", { name: best[id], exact: true }).click();
        await items.nth(i).locator(".feedback.good").waitFor();
      }
      break;
    }
    case "interview":
      await page.fill(".live-pane textarea",
        "When the data flows mostly server to client and I want plain HTTP with built-in reconnect (Last-Event-ID); for two-way chat I'd use WebSockets.");
      await page.click(".live-pane .widget-controls button");
      await page.locator(".interview-result blockquote").waitFor();
      break;
    case "chat": {
      await page.waitForTimeout(500);
      const sends = page.locator(".chat-grid .widget-controls button");
      for (let i = 0; i < 2; i++) {
        await sends.nth(0).click();
        await sends.nth(1).click();
        await page.waitForTimeout(150);
      }
      break;
    }
    case "load": {
      // A small load test from the lesson pane: it runs and fills in its table.
      for (const [name, value] of [["sse", "40"], ["websockets", "40"], ["pollers", "10"], ["duration_s", "3"]]) {
        await page.fill(`.live-pane .w-load input[name=${name}]`, value);
      }
      await page.click(".live-pane .w-load button[type=submit]");
      await page.locator(".live-pane .load-table").waitFor({ timeout: 90000 });
      assert.match(await page.textContent(".live-pane .load-sentence"), /40 SSE connections cost the server/);
      break;
    }
    case "cluster": {
      // This server runs without Redis: the scaling lesson's widget says how
      // to start both (cluster.test.mjs runs it with a redis-server).
      const hint = page.locator(".live-pane .w-cluster .cluster-hint");
      await hint.locator("pre").waitFor();
      assert.match(await hint.textContent(), /--redis-url redis:\/\/127\.0\.0\.1:6379\//);
      assert.equal(await page.locator(".live-pane .w-cluster").getByRole("button", { name: "Start two instances" }).isDisabled(), true);
      break;
    }
    default:
      break;
  }
}

test("every lesson, step by step, ticks every check", { timeout: 600000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/`);
  await page.getByRole("link", { name: "Lessons" }).first().click();
  await page.locator(".lesson-list li").first().waitFor();
  assert.equal(await page.locator(".lesson-list li").count(), 11);
  await page.screenshot({ path: path.join(screenshots, "00-lesson-list.png") });
  await page.locator(".lesson-list a").first().click();

  const lessons = await (await page.request.get(`${server.base}/api/lessons`)).json();
  for (const summary of lessons) {
    await page.waitForURL(`**/lessons/${summary.slug}**`);
    const lesson = await (await page.request.get(`${server.base}/api/lessons/${summary.slug}`)).json();
    await page.waitForSelector("#lesson-text h2");
    await page.screenshot({ path: path.join(screenshots, `${String(lesson.order).padStart(2, "0")}-${lesson.slug}.png`) });
    for (const [i, step] of lesson.steps.entries()) {
      try {
      await page.waitForFunction((t) => document.querySelector("#lesson-text h2")?.textContent === t, step.title);
      if (step.play.length) {
        await page.click("#play");
        // Skip the reading pauses after each sentence (not the script's own waits);
        // stop once the step's checks tick, or the script ends.
        // (Checked and clicked in one task in the page, so a wait that has
        // just begun is never skipped by mistake.)
        const skipper = setInterval(() => {
          page.evaluate(() => {
            if (document.querySelector("#narration")?.dataset.action === "say") document.querySelector("#play-next")?.click();
          }).catch(() => {});
        }, 300);
        try {
          if (step.checks.length) await stepDone(page, step.id);
          else await page.waitForFunction(() => document.querySelector("#play-pause")?.disabled, null, { timeout: 60000 });
        } finally {
          clearInterval(skipper);
        }
      } else {
        await doByHand(page, step);
        // The cluster's checks count traffic on instances this server (no
        // Redis here) cannot start; cluster.test.mjs ticks them with Redis.
        if (step.checks.length && step.widget !== "cluster") await stepDone(page, step.id);
      }
      } catch (err) {
        await page.screenshot({ path: path.join(screenshots, `failed-${lesson.slug}-${step.id}.png`) });
        const progress = await (await page.request.get(`${server.base}/api/lessons/${lesson.slug}/progress`)).json();
        const narration = await page.textContent("#narration");
        throw new Error(`${lesson.slug}#${step.id}: ${err.message}\nnarration: ${narration}\nprogress: ${JSON.stringify(progress.steps.find((s) => s.id === step.id))}`);
      }
      if (i < lesson.steps.length - 1) await page.click("#next-step");
    }
    const progress = await (await page.request.get(`${server.base}/api/lessons/${lesson.slug}/progress`)).json();
    if (!lesson.steps.some((s) => s.widget === "cluster")) {
      assert.equal(progress.done, progress.total, `${lesson.slug}: every checked step done`);
    }
    await page.click("#next-step");
  }
  await page.waitForURL("**/lessons/");
  await page.screenshot({ path: path.join(screenshots, "11-lessons-done.png") });
  assertClean(problems);
  await context.close();
});

test("a lesson played in play mode runs to its end", { timeout: 300000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/lessons/polling`);
  const lesson = await (await page.request.get(`${server.base}/api/lessons/polling`)).json();
  for (const [i, step] of lesson.steps.entries()) {
    await page.waitForFunction((t) => document.querySelector("#lesson-text h2")?.textContent === t, step.title);
    await page.click("#play");
    await page.waitForFunction(() => document.querySelector("#narration")?.textContent.startsWith("That is the whole step"), null, { timeout: 90000 });
    if (i === 1) await page.screenshot({ path: path.join(screenshots, "lesson-played.png") });
    if (i < lesson.steps.length - 1) await page.click("#next-step");
  }
  const progress = await (await page.request.get(`${server.base}/api/lessons/polling/progress`)).json();
  assert.equal(progress.done, progress.total, "playing the lesson did every step");
  assertClean(problems);
  await context.close();
});

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
  await page.waitForTimeout(500);
  await page.fill(".chat-grid input >> nth=0", evil);
  await page.locator(".chat-grid .widget-controls button").first().click();
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
  await page.waitForTimeout(500);
  const sends = page.locator(".chat-grid .widget-controls button");
  await sends.nth(0).click();
  await sends.nth(1).click();
  await page.locator("#chat-cost", { hasText: "1 POST" }).waitFor();
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
