// A calm first contact and the curl line, in the real UI: on a server with a
// backlog, the polling clients start from now (their first answers are empty);
// the traffic page and the lesson's panel show curl lines with the learner's
// own id, the Copy button works from the keyboard and says "Copied", and a
// request sent with that line lands in the page's log as catch-up, not delay.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { newLearner, screenshots, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;
const BACKLOG = 30;

before(async () => {
  server = await startServer(["--long-poll-timeout-secs", "2"]);
  browser = await startBrowser();
  for (let n = 0; n < BACKLOG; n++) {
    const res = await fetch(`${server.base}/api/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ topic: "demo", type: "note", data: { n } }),
    });
    assert.equal(res.status, 202);
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the traffic page: calm polling, a curl line with my id, copied by keyboard, landing in my log", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.base });
  await page.goto(`${server.base}/traffic.html`);

  const sseLine = page.locator(".curl-line code").first();
  await page.waitForFunction(() => /X-Learner: l-[0-9a-f]{32}/.test(document.querySelector(".curl-line code")?.textContent ?? ""));
  const line = await sseLine.textContent();
  const id = line.match(/X-Learner: (l-[0-9a-f]{32})/)[1];
  assert.equal(line, `curl -N -H 'X-Learner: ${id}' ${server.base}/api/sse`);
  assert.equal(await page.locator(".curl-line code").nth(1).textContent(), `curl -i -H 'X-Learner: ${id}' ${server.base}/api/poll`);
  const page1 = await (await page.request.get(`${server.base}/api/traffic?limit=1`)).json();
  assert.equal(page1.learner, id, "the id the page shows is this browser's own");

  // Copy from the keyboard: focus the button, press Enter, hear "Copied".
  await page.locator(".curl-line button").first().focus();
  await page.keyboard.press("Enter");
  await page.getByRole("status").filter({ hasText: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), line);

  // First contact: the polling clients start from now, so no backlog comes back.
  await page.click("#poll-once");
  await page.waitForFunction(() => document.querySelector("#poll-status")?.textContent.startsWith("no news (204)"));
  await page.click("#long-poll-toggle");
  await page.waitForFunction(() => document.querySelector("#long-poll-status")?.textContent === "waiting for news…");
  await page.click("#long-poll-toggle");

  // The curl line's request (sent here as curl would) lands in this page's log, as catch-up.
  const res = await fetch(`${server.base}/api/poll`, { headers: { "X-Learner": id } });
  assert.equal(res.status, 200);
  const row = page.locator(".timeline .row", { hasText: `caught up on ${BACKLOG} older events` });
  await row.waitFor();
  assert.equal(await row.locator(".delay").textContent(), "catch-up");
  await page.locator(".traffic-summaries li", { hasText: `caught up on ${BACKLOG} older events` }).waitFor({ timeout: 5000 });
  const summary = await page.locator(".traffic-summaries li.t-poll").textContent();
  assert.doesNotMatch(summary, /after publish/, "a backlog is not a delay");
  await page.screenshot({ path: path.join(screenshots, "traffic-curl-lines.png") });

  const traffic = await (await page.request.get(`${server.base}/api/traffic?transport=poll`)).json();
  const first = traffic.entries[0];
  assert.match(first.path, /from=newest/);
  assert.equal(first.status, 204, "the first poll of the page is an empty answer");
  assertClean(problems);
  await context.close();
});

test("the lesson's traffic panel folds the curl lines and the poll widget starts with empty answers", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/lessons/polling`);
  const details = page.locator("#side-traffic details.curl-lines");
  await details.waitFor();
  assert.equal(await details.getAttribute("open"), null, "folded beside a lesson");
  await details.locator("summary").click();
  await page.waitForFunction(() => /X-Learner: l-/.test(document.querySelector("#side-traffic .curl-line code")?.textContent ?? ""));

  await page.locator(".live-pane .w-poll").getByRole("button", { name: "Poll once" }).click();
  const first = page.locator(".live-pane .w-poll .widget-log li").first();
  await first.waitFor();
  assert.match(await first.textContent(), /no news \(204\)/);
  assert.equal(await first.getAttribute("class"), "empty");
  await page.screenshot({ path: path.join(screenshots, "lesson-curl-lines.png") });
  assertClean(problems);
  await context.close();
});

function assertClean(problems) {
  assert.deepEqual(problems.consoleErrors, [], "no console errors");
  assert.deepEqual(problems.foreignRequests, [], "no request to another origin");
}
