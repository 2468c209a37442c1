// Lessons 01–05 walked in order on one page, as a learner reads them (the
// widget and its connections carry over from step to step, unlike
// lessons.test.mjs, which opens every step on a fresh page): every step with
// a check stays unticked while the learner only reads it, and ticks when the
// learner performs the step's "show me" script by hand through the page's
// controls. Predictions are saved first and come back beside the measurement.
// Last, "show me" followed by the learner's own Send: the widget reconnects
// as the learner, so the step ticks as done with help.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { newLearner, screenshots, startBrowser, startServer } from "./harness.mjs";

const LESSONS = ["real-time", "polling", "long-polling", "sse", "websockets"];
// Long enough for two of the page's progress refreshes (every 1.5 s).
const IDLE_MS = 3500;

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

const pane = (page) => page.locator("#live-pane");

/** The widget's start/stop button, by the labels it shows. */
const TOGGLES = {
  poll: ["Start polling", "Stop polling"],
  "long-poll": ["Start long-polling", "Stop long-polling"],
  sse: ["Open the stream", "Close the stream"],
  ws: ["Connect", "Disconnect"],
};

async function setRunning(page, client, on) {
  const [startLabel, stopLabel] = TOGGLES[client];
  const want = on ? startLabel : stopLabel;
  const button = pane(page).getByRole("button", { name: want, exact: true });
  if (await button.count()) await button.click();
  await pane(page).getByRole("button", { name: on ? stopLabel : startLabel, exact: true }).waitFor();
}

async function setFeed(page, name, on) {
  const want = `${on ? "Start" : "Pause"} ${name}`;
  const button = pane(page).getByRole("button", { name: want, exact: true });
  if (await button.count()) {
    await button.click();
    await pane(page).getByRole("button", { name: `${on ? "Pause" : "Start"} ${name}`, exact: true }).waitFor();
  }
}

/** The newest "published as event #N" the pane shows (stage or publish widget). */
const newestPublished = (page) => page.evaluate(() => {
  const ids = [...document.querySelector("#live-pane").innerText.matchAll(/published as event #(\d+)/gi)].map((m) => BigInt(m[1]));
  return ids.reduce((a, b) => (b > a ? b : a), 0n).toString();
});

async function publish(page, text) {
  const before = await newestPublished(page);
  await pane(page).getByRole("textbox", { name: "Text to publish" }).fill(text);
  await pane(page).getByRole("button", { name: "Publish", exact: true }).click();
  for (let i = 0; i < 50 && (await newestPublished(page)) === before; i++) await page.waitForTimeout(100);
  assert.notEqual(await newestPublished(page), before, "the publish was answered");
}

/** Performs one play action the way a learner would, with the page's controls. */
async function perform(page, a) {
  switch (a.action) {
    case "say": break;
    case "start": await setRunning(page, a.target, true); break;
    case "stop": await setRunning(page, a.target, false); break;
    case "feed": await setFeed(page, a.target, a.value === 1); break;
    case "publish": await publish(page, a.text || "Hello"); break;
    case "drop": await pane(page).getByRole("button", { name: "Drop my connection (server side)" }).click(); break;
    case "ws_send":
      await pane(page).getByRole("textbox", { name: "Message to send (JSON)" }).fill(a.text);
      await pane(page).getByRole("button", { name: "Send", exact: true }).click();
      break;
    case "wait": await page.waitForTimeout(a.value * 1000); break;
    default: throw new Error(`no control for ${a.action}`);
  }
}

async function stepState(page, slug, id) {
  const p = await (await page.request.get(`${server.base}/api/lessons/${slug}/progress`)).json();
  return p.steps.find((s) => s.id === id);
}

for (const slug of LESSONS) {
  test(`lesson ${slug}: idle steps stay open, the learner's own replay of each show-me ticks them`, { timeout: 300000 }, async () => {
    const { page, problems, context } = await newLearner(browser, server.base);
    const lesson = await (await page.request.get(`${server.base}/api/lessons/${slug}`)).json();
    await page.goto(`${server.base}/lessons/${slug}`);
    for (const [i, step] of lesson.steps.entries()) {
      await page.waitForFunction((t) => document.querySelector("#lesson-text h2")?.textContent === t, step.title);
      if (step.checks.length) {
        try {
          assert.ok(step.hints >= 1 && step.hints <= 3, `${step.id}: 1–3 hints`);
          assert.ok(step.play.length, `${step.id}: a show-me script`);
          await page.locator(".step-task h3").waitFor();
          if (step.widget) await pane(page).locator(`.w-${step.widget}`).waitFor();
          await page.waitForTimeout(IDLE_MS);
          const idle = await stepState(page, slug, step.id);
          assert.equal(idle.done, false, `${step.id}: done before the learner acted (${JSON.stringify(idle.checks)})`);
          if (step.predict) {
            await page.locator(".predict-input").fill("7");
            await page.getByRole("button", { name: "Save my prediction" }).click();
            await page.getByText("Saved: 7").waitFor();
          }
          for (const a of step.play) await perform(page, a);
          await page.waitForSelector(`.toc-link.done[href="#${step.id}"]`, { timeout: 20000 });
          const done = await stepState(page, slug, step.id);
          assert.equal(done.helped, false, `${step.id}: done on the learner's own`);
          if (step.predict) {
            await page.locator(".predict-result", { hasText: "You predicted 7" }).waitFor();
          }
        } catch (err) {
          await page.screenshot({ path: path.join(screenshots, `failed-lessons-a-${slug}-${step.id}.png`) });
          throw new Error(`${slug}#${step.id}: ${err.message}\nprogress: ${JSON.stringify(await stepState(page, slug, step.id))}`);
        }
      }
      if (i < lesson.steps.length - 1) await page.click("#next-step");
    }
    assert.deepEqual(problems.consoleErrors, [], "no console errors");
    await context.close();
  });
}

test("show me makes a step watched, not done, and the learner's own try then ticks it", { timeout: 120000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  const lesson = await (await page.request.get(`${server.base}/api/lessons/websockets`)).json();
  const step = lesson.steps.find((s) => s.checks.some((c) => c.text === "ws_pings == 1"));
  await page.goto(`${server.base}/lessons/websockets#${step.id}`);
  await page.locator(".step-task h3").waitFor();
  await page.click("#play");
  await page.locator(".toc-link.watched", { hasText: step.title }).waitFor({ timeout: 30000 });
  await page.waitForFunction(() => document.querySelector("#play-pause")?.disabled, null, { timeout: 30000 });
  const watched = await stepState(page, "websockets", step.id);
  assert.equal(watched.done, false, "play mode's ping is not the learner's");
  // The socket play mode opened is play mode's: the learner's Send reconnects as the learner.
  await pane(page).getByRole("textbox", { name: "Message to send (JSON)" }).fill('{"type":"ping"}');
  await pane(page).getByRole("button", { name: "Send", exact: true }).click();
  await page.waitForSelector(`.toc-link.done[href="#${step.id}"]`, { timeout: 20000 });
  assert.match(await pane(page).locator(".widget-log").innerText(), /answered in [0-9.]+ ms/);
  assert.equal((await stepState(page, "websockets", step.id)).helped, true, "show me was used");
  assert.deepEqual(problems.consoleErrors, [], "no console errors");
  await context.close();
});
