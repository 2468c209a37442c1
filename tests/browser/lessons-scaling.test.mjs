// Lesson 11 ("scaling") walked from its first step to its last in one page,
// on a server with a Redis backplane, as a learner reads it: each checked
// step is left alone, then its "show me" script is done by hand through the
// page's own controls and it must tick; "show me" on a cluster step makes it
// watched, never done. The cluster steps need redis-server (lessons.test.mjs
// skips them); without it they are skipped loudly.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { newLearner, screenshots, startBrowser, startServer } from "./harness.mjs";
import { hasRedis, startRedis } from "./redis.mjs";

const IDLE_MS = 3000;
const EXPECTED_NETWORK_ERRORS = /net::ERR_(CONNECTION_REFUSED|INCOMPLETE_CHUNKED_ENCODING|CONNECTION_RESET|EMPTY_RESPONSE|CONNECTION_CLOSED)|WebSocket connection to .* failed/;

let redis;
let server;
let browser;

before(async () => {
  const args = ["--sse-heartbeat-secs", "1", "--long-poll-timeout-secs", "2", "--sse-retry-ms", "300"];
  if (hasRedis) {
    redis = await startRedis("playground-redis-lessons-");
    args.push("--redis-url", redis.url);
  }
  server = await startServer(args);
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  redis?.stop();
});

const TOGGLE_NAMES = {
  poll: /^(Start|Stop) polling$/,
  "long-poll": /^(Start|Stop) long-polling$/,
  sse: /^(Open|Close) the stream$/,
  ws: /^(Connect|Disconnect)$/,
};

/** A client's toggle in the live pane: `data-client`, else the button's name. */
async function toggleOf(pane, client) {
  const tagged = pane.locator(`[data-client="${client}"]`);
  if (await tagged.count()) return tagged.first();
  return pane.getByRole("button", { name: TOGGLE_NAMES[client] }).first();
}

/** One play action, done by hand with the page's own controls. */
async function perform(page, a) {
  const pane = page.locator(".live-pane");
  switch (a.action) {
    case "say":
      return;
    case "wait":
      return page.waitForTimeout(a.value * 1000);
    case "start":
    case "stop": {
      const toggle = await toggleOf(pane, a.target);
      const on = (await toggle.getAttribute("aria-pressed")) === "true";
      if (on !== (a.action === "start")) await toggle.click();
      return;
    }
    case "publish": {
      const form = pane.locator(".stage form");
      await form.getByRole("textbox", { name: "Text to publish" }).fill(a.text);
      await form.getByRole("button", { name: "Publish" }).click();
      return pane.locator(".stage", { hasText: "Published as event" }).waitFor();
    }
    case "feed": {
      const want = a.value === 1 ? "Start" : "Pause";
      const button = pane.getByRole("button", { name: `${want} ${a.target}` });
      if (await button.count()) await button.click();
      return pane.getByRole("button", { name: `${want === "Start" ? "Pause" : "Start"} ${a.target}` }).waitFor();
    }
    case "drop":
      return pane.getByRole("button", { name: "Drop my connection (server side)" }).click();
    case "ws_send": {
      await pane.getByRole("textbox", { name: "Message to send (JSON)" }).fill(a.text);
      const tagged = pane.locator('[data-play="ws send"]');
      return (await tagged.count()) ? tagged.click() : pane.getByRole("button", { name: "Send", exact: true }).click();
    }
    case "chat":
      await pane.locator(`[data-action="chat-text"][data-side="${a.target}"]`).fill(a.text);
      return pane.locator(`[data-action="chat-send"][data-side="${a.target}"]`).click();
    case "decide": {
      const item = pane.locator(`li[data-scenario="${a.target}"]`);
      await item.locator(`input[type=radio][value="${a.factor}"]`).check();
      await item.locator(`button[data-choice="${a.text}"]`).click();
      return item.locator(".feedback.good, .feedback.bad").waitFor();
    }
    case "answer":
      await pane.getByRole("textbox", { name: "Your answer" }).fill(a.text);
      await pane.getByRole("button", { name: "Compare with the model answer" }).click();
      return pane.locator(".interview-result blockquote").waitFor();
    case "press": {
      const button = pane.getByRole("button", { name: a.text });
      if (await button.count()) {
        await button.first().waitFor({ state: "visible" });
        if (await button.first().isEnabled()) await button.first().click();
        if (a.text === "Start two instances") await pane.locator('.cluster-instance[data-state="running"]').nth(1).waitFor({ timeout: 30000 });
      } else {
        const box = pane.getByLabel(a.text);
        if (!(await box.isChecked())) await box.check();
      }
      return;
    }
    default:
      throw new Error(`no control for ${a.action}`);
  }
}

async function stepState(page, slug, id) {
  const p = await (await page.request.get(`${server.base}/api/lessons/${slug}/progress`)).json();
  return p.steps.find((s) => s.id === id);
}

const stepDone = (page, id, timeout = 60000) => page.waitForSelector(`.toc-link.done[href="#${id}"]`, { timeout });

async function walk(page, slug) {
  await page.goto(`${server.base}/lessons/${slug}`);
  const lesson = await (await page.request.get(`${server.base}/api/lessons/${slug}`)).json();
  for (const [i, step] of lesson.steps.entries()) {
    await page.waitForFunction((t) => document.querySelector("#lesson-text h2")?.textContent === t, step.title);
    if (step.widget) await page.locator(`.live-pane .w-${step.widget}`).waitFor();
    if (step.checks.length) {
      try {
        await page.waitForTimeout(IDLE_MS);
        const idle = await stepState(page, slug, step.id);
        assert.equal(idle.done, false, `${slug}#${step.id} ticked while the learner only waited: ${JSON.stringify(idle)}`);
        for (const a of step.play) await perform(page, a);
        await stepDone(page, step.id);
        const s = await stepState(page, slug, step.id);
        assert.equal(s.helped, false, `${slug}#${step.id}: done on its own`);
      } catch (err) {
        await page.screenshot({ path: path.join(screenshots, `act-failed-${slug}-${step.id}.png`) });
        throw new Error(`${slug}#${step.id}: ${err.message}\nprogress: ${JSON.stringify(await stepState(page, slug, step.id))}`);
      }
    }
    if (i < lesson.steps.length - 1) await page.click("#next-step");
  }
  const progress = await (await page.request.get(`${server.base}/api/lessons/${slug}/progress`)).json();
  assert.equal(progress.done, progress.total, `${slug}: every checked step done`);
}

test("scaling: the cluster steps by hand (needs redis-server)", { timeout: 300000 }, async (t) => {
  if (!hasRedis) return t.skip("SKIPPED: redis-server is not installed");
  const { page, problems, context } = await newLearner(browser, server.base, { width: 1280, height: 900 });
  await walk(page, "scaling");
  await page.request.delete(`${server.base}/api/lab/cluster`);
  assert.deepEqual(problems.consoleErrors.filter((e) => !EXPECTED_NETWORK_ERRORS.test(e)), [], "no console errors");
  await context.close();
});

test("scaling: show me makes each cluster step watched, never done (needs redis-server)", { timeout: 300000 }, async (t) => {
  if (!hasRedis) return t.skip("SKIPPED: redis-server is not installed");
  const { page, context } = await newLearner(browser, server.base, { width: 1280, height: 900 });
  await page.goto(`${server.base}/lessons/scaling`);
  const lesson = await (await page.request.get(`${server.base}/api/lessons/scaling`)).json();
  try {
    for (const [i, step] of lesson.steps.entries()) {
      await page.waitForFunction((title) => document.querySelector("#lesson-text h2")?.textContent === title, step.title);
      if (step.widget === "cluster" && step.checks.length) {
        await page.click("#play");
        // Skip the reading pauses; the instances' counts reach this server when it asks them.
        const end = Date.now() + 90000;
        let s;
        for (;;) {
          await page.evaluate(() => {
            if (document.querySelector("#narration")?.dataset.action === "say") document.querySelector("#play-next")?.click();
          });
          s = await stepState(page, "scaling", step.id);
          if (s.watched || Date.now() > end) break;
          await page.waitForTimeout(300);
        }
        assert.equal(s.watched, true, `scaling#${step.id}: show me's traffic on the instances counts as watched: ${JSON.stringify(s)}`);
        assert.equal(s.done, false, `scaling#${step.id}: show me did it for the learner`);
        await page.locator("#play-pause:disabled").waitFor({ timeout: 60000 }); // the script has ended
      }
      if (i < lesson.steps.length - 1) await page.click("#next-step");
    }
  } finally {
    await page.request.delete(`${server.base}/api/lab/cluster`);
    await context.close();
  }
});

