// WCAG 2.2 AA, checked by axe-core on every page the product serves: home,
// the lesson list, every step of every lesson (each step's widget), the
// traffic log, the lab and Swagger UI — in light and dark, wide and narrow,
// with traffic in the log and the widgets' live states (a poll running, a
// stream open, a race's result table, a challenge open). Fails listing each
// violation: rule, impact, element, what is wrong.

import { after, before, describe as suite, test } from "node:test";
import assert from "node:assert/strict";
import { newLearner, startBrowser, startServer } from "./harness.mjs";
import { audit, describe } from "./axe.mjs";
import { pressRun } from "./editor-driver.mjs";

let browser;

before(async () => { browser = await startBrowser(); });
after(async () => { await browser?.close(); });

const VIEWPORTS = { wide: { width: 1280, height: 800 }, narrow: { width: 390, height: 844 } };

// Both themes at both sizes, and both ways a theme is chosen: following the
// system (prefers-color-scheme) and the page's toggle overriding the system
// (data-theme). The stylesheet has a rule set for each.
const RUNS = [
  { theme: "light", size: "wide", system: "light", toggle: false },
  { theme: "dark", size: "wide", system: "dark", toggle: false },
  { theme: "light", size: "narrow", system: "dark", toggle: true },
  { theme: "dark", size: "narrow", system: "light", toggle: true },
];

// The widget a step shows when it names none (as lesson.js picks it).
const DEFAULT_WIDGET = { poll: "poll", long_poll: "long-poll", sse: "sse", websocket: "ws" };

// Two configurations at a time, each on a server of its own (contexts of
// one browser share its six connections per host).
suite("every page, every configuration", { concurrency: 2 }, () => {
  for (const run of RUNS) {
    const name = `${run.theme} theme, ${run.size} (${run.toggle ? `toggled over a ${run.system} system` : "following the system"})`;
    test(`WCAG 2.2 AA on every page: ${name}`, { timeout: 900000 }, async (t) => {
      const server = await startServer(["--sse-heartbeat-secs", "1", "--long-poll-timeout-secs", "2"]);
      t.after(() => server.stop());
      const { page, problems, context } = await newLearner(browser, server.base, VIEWPORTS[run.size],
        { colorScheme: run.system });
      const found = [];
      const check = async (where) => {
        // Scrolled to the end, the lesson page's sticky step bar (narrow screens)
        // sits in its own place, not over a button it would half cover at some
        // other scroll position; scroll-padding keeps keyboard focus clear of it.
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        found.push(...await audit(page, where));
      };
      // Each page is audited in the theme under test, never by accident in the other.
      const themed = async () => {
        const scheme = await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme);
        assert.equal(scheme, run.theme, `${page.url()} is in the ${run.theme} theme`);
      };

      await page.goto(`${server.base}/traffic.html`);
      if (run.toggle) {
        for (let i = 0; i < 3 && (await page.textContent("#theme")) !== `Theme: ${run.theme}`; i++) await page.click("#theme");
      }
      await themed();
      await trafficWithClients(page);
      await check("traffic log, four clients running");

      await page.goto(`${server.base}/`);
      await themed();
      await homeLive(page);
      await check("home, events arriving");

      await page.goto(`${server.base}/lessons/`);
      await page.locator(".lesson-list li").first().waitFor();
      await themed();
      await check("lesson list");

      const lessons = await (await page.request.get(`${server.base}/api/lessons`)).json();
      assert.ok(lessons.length > 0);
      assert.equal(lessons.length, await page.locator(".lesson-list li").count(), "every listed lesson is audited");
      for (const summary of lessons) {
        const lesson = await (await page.request.get(`${server.base}/api/lessons/${summary.slug}`)).json();
        await page.goto(`${server.base}/lessons/${lesson.slug}`);
        await page.locator("#toc .toc-link").first().waitFor();
        await themed();
        let mounted = null;
        let taskTried = false;
        for (const step of lesson.steps) {
          const where = `/lessons/${lesson.slug}#${step.id}`;
          const widget = step.widget ?? DEFAULT_WIDGET[lesson.transport] ?? null;
          await showStep(page, step, widget);
          await check(where);
          // The step's task box once per lesson: a hint taken, a prediction saved.
          if (!taskTried && (step.hints > 0 || step.predict)) {
            await tryTask(page, step);
            await check(`${where}, a hint shown and a prediction saved`);
            taskTried = true;
          }
          // A widget stays mounted over steps that share it: its live state once.
          if (widget !== mounted) {
            const state = await exercise(page, widget);
            if (state) await check(`${where}, ${state}`);
            mounted = widget;
          }
        }
      }

      await page.goto(`${server.base}/lab.html`);
      await themed();
      await page.locator("#challenges .challenge").first().waitFor();
      await check("lab");
      for (const [state, reach] of Object.entries(LAB_STATES)) {
        await reach(page);
        await check(`lab, ${state}`);
      }

      // Swagger UI is third-party markup with no theme of its own: audited as it is.
      await page.goto(`${server.base}/docs`);
      await page.locator(".swagger-ui .opblock").first().waitFor();
      await check("Swagger UI");
      const op = "#operations-Server-Sent_Events-get_api_sse";
      await page.click(`${op} .opblock-summary`);
      await page.click(`${op} .try-out__btn`);
      await page.fill(`${op} tr[data-param-name="limit"] input`, "2");
      await page.fill(`${op} tr[data-param-name="duration"] input`, "2");
      await page.click(`${op} .execute`);
      await page.locator(`${op} .live-responses-table .response-col_status`).first().waitFor({ timeout: 20000 });
      await check("Swagger UI, an operation tried out");

      assert.equal(found.length, 0, `axe-core found ${found.length} WCAG 2.2 AA violation(s) in the ${name}:\n${describe(found)}`);
      assert.deepEqual(problems.consoleErrors, [], "no console errors");
      assert.deepEqual(problems.foreignRequests, [], "no request to another origin");
      await context.close();
    });
  }
});

/** Traffic page with all four clients on and events flowing: rows, badges, summaries. */
async function trafficWithClients(page) {
  for (const id of ["#poll-toggle", "#long-poll-toggle", "#sse-toggle", "#ws-toggle"]) await page.click(id);
  await page.locator("#sse-status", { hasText: "stream open" }).waitFor();
  await page.locator("#ws-status", { hasText: "connected" }).waitFor();
  for (let i = 0; i < 3; i++) {
    await page.request.post(new URL("/api/events", page.url()).href, { data: { topic: "demo", data: { n: i } } });
  }
  for (const t of ["poll", "long_poll", "sse", "websocket"]) {
    await page.locator(`#traffic .timeline .row.t-${t}.has-news`).first().waitFor();
    await page.locator(`#traffic .traffic-summaries li.t-${t} .badge`).waitFor();
  }
}

/** Home page with its feeds listed, an event in the tail and the WebSocket tried. */
async function homeLive(page) {
  await page.locator("#feeds .feed").first().waitFor();
  const arrived = page.locator("#tail li:not(.empty)").first();
  for (let i = 0; i < 20 && !(await arrived.isVisible()); i++) {
    await page.click("#publish button[type=submit]");
    await page.waitForTimeout(200);
  }
  await arrived.waitFor();
  await page.click("#ws-try");
  await page.waitForFunction(() => document.querySelector("#ws-result")?.textContent.trim());
}

/** Opens a step from the table of contents; resolves once its widget is in the pane. */
async function showStep(page, step, widget) {
  await page.click(`#toc .toc-link[href="#${step.id}"]`);
  await page.locator(`#toc .toc-link[href="#${step.id}"][aria-current="step"]`).waitFor();
  await page.waitForFunction((t) => document.querySelector("#lesson-text h2")?.textContent === t, step.title);
  if (widget) await page.locator(`#live-pane .w-${widget}`).waitFor();
  else await page.locator("#live-pane", { hasText: "This step has no live widget" }).waitFor();
  if (widget === "decide") await page.locator(".decide > li").first().waitFor();
  if (widget === "compare") await page.locator("table.compare tbody tr").first().waitFor();
  if (widget === "feeds") await page.locator("#live-pane .feed").first().waitFor();
}

const pane = (page) => page.locator("#live-pane");

/** Takes the step's first hint and saves a prediction, where the step has them. */
async function tryTask(page, step) {
  const task = page.locator("#lesson-text .step-task");
  if (step.hints > 0) {
    await task.getByRole("button", { name: /^Hint/ }).click();
    await task.locator(".hints li").first().waitFor();
  }
  if (step.predict) {
    await task.locator(".predict-input").fill("3");
    await task.getByRole("button", { name: "Save my prediction" }).click();
    await task.locator(".predict [role=status]", { hasText: "Saved" }).waitFor();
  }
}

/** The arrows widget (lesson or lab) with its four clients running and an event published. */
async function drawArrows(box) {
  await box.getByRole("button", { name: "Start the four clients" }).click();
  await box.getByRole("button", { name: "Publish an event" }).click();
  await box.locator(".widget-status", { hasText: "Published event" }).waitFor();
  await box.page().waitForFunction((root) => root.querySelectorAll(".seq-arrows > *").length >= 4, await box.elementHandle());
}

/** Puts a step's widget into its live state; resolves with what it did, or null. */
async function exercise(page, widget) {
  if (widget?.startsWith("exercise-")) {
    // The editor with its starting file, run for a moment, then stopped.
    await pressRun(pane(page));
    await pane(page).locator(".sandbox-console li").first().waitFor();
    await pane(page).locator('[data-action="stop-code"]').click();
    await pane(page).locator(".runner-state", { hasText: "stopped" }).waitFor();
    return "the exercise's code run and stopped";
  }
  switch (widget) {
    case "poll":
      await pane(page).getByRole("button", { name: "Start polling" }).click();
      await pane(page).locator(".widget-log li").first().waitFor();
      await pane(page).getByRole("button", { name: "Stop polling" }).click();
      // The client's own file, opened in the editor and run in the sandbox.
      await pane(page).locator(".widget-code summary").click();
      await pane(page).getByRole("button", { name: "Edit and run this code" }).click();
      await pane(page).locator(".sandbox-console").waitFor();
      await pressRun(pane(page));
      await pane(page).locator(".sandbox-console li", { hasText: "events" }).first().waitFor();
      await pane(page).locator('[data-action="stop-code"]').click();
      return "a poll answered, its code edited and run";
    case "long-poll":
      await pane(page).getByRole("button", { name: "Start long-polling" }).click();
      await pane(page).locator(".widget-status", { hasText: "waiting" }).waitFor();
      return "a long-poll waiting";
    case "sse":
      await pane(page).getByRole("button", { name: "Open the stream" }).click();
      await pane(page).locator(".widget-log li", { hasText: "stream open" }).waitFor();
      return "the stream open";
    case "ws":
      await pane(page).getByRole("button", { name: "Connect" }).click();
      await pane(page).locator(".widget-log li", { hasText: "welcome" }).waitFor();
      return "the socket connected";
    case "publish":
      await pane(page).getByRole("button", { name: "Publish" }).click();
      await pane(page).locator(".widget-log li").first().waitFor();
      return "an event published";
    case "decide": {
      const items = pane(page).locator(".decide > li");
      for (const [i, answer] of ["Polling", "SSE", "WebSockets"].entries()) {
        await items.nth(i).getByRole("button", { name: answer, exact: true }).click();
        await items.nth(i).locator(".feedback.good, .feedback.bad").waitFor();
      }
      return "three answers judged";
    }
    case "interview":
      await pane(page).locator("textarea").fill("SSE when updates flow one way; it reconnects by itself.");
      await pane(page).getByRole("button", { name: "Compare with the model answer" }).click();
      await pane(page).locator(".interview-result blockquote").waitFor();
      return "an answer compared";
    case "chat": {
      // The SSE side open, then messages sent until one comes back over it.
      await pane(page).locator('[data-client="sse"]').click();
      const back = pane(page).locator(".chat-grid .widget-log li", { hasText: "hello" }).first();
      for (let i = 0; i < 20 && !(await back.isVisible()); i++) {
        await pane(page).locator('[data-action="chat-send"][data-side="sse"]').click();
        await page.waitForTimeout(300);
      }
      await back.waitFor();
      return "a message sent";
    }
    case "load":
      await runLoad(page, "#live-pane .w-load form");
      return "a load test's result";
    case "sequence":
      await drawArrows(pane(page));
      return "four clients drawn as arrows";
    default:
      return null;
  }
}

/** A small load test in the given form; resolves once its result table is shown. */
async function runLoad(page, form) {
  for (const [name, value] of [["sse", "5"], ["websockets", "5"], ["pollers", "2"], ["duration_s", "3"]]) {
    await page.fill(`${form} input[name=${name}]`, value);
  }
  await page.click(`${form} button[type=submit]`);
  await page.locator(`${form} ~ .load-result .load-table`).waitFor({ timeout: 90000 });
}

// The lab's states, reached in this order on one page.
const LAB_STATES = {
  "a race's result table": async (page) => {
    await page.fill("#race input[name=duration_s]", "1");
    await page.fill("#race input[name=rate_ms]", "200");
    await page.fill("#race input[name=poll_interval_ms]", "200");
    await page.click("#race-start");
    await page.locator("#race-result .race-table").waitFor({ timeout: 20000 });
  },
  "a load test's result": (page) => runLoad(page, "#load"),
  "your traffic drawn as arrows": async (page) => {
    await page.click("#sequence-start");
    await drawArrows(page.locator("#sequence"));
  },
  "a challenge started, its hint and solution open": async (page) => {
    // The arrows hold connections the six-connection demo below needs.
    await page.locator("#sequence").getByRole("button", { name: "Stop the four clients" }).click();
    await page.click("#sequence-start");
    const card = page.locator("#challenges .challenge").first();
    await card.getByRole("button", { name: "Start" }).click();
    await card.locator(".challenge-state", { hasText: "In progress" }).waitFor();
    for (const summary of await card.locator("summary").all()) await summary.click();
  },
  "seven SSE streams, one waiting": async (page) => {
    await page.click("#six-open");
    await page.waitForFunction(() => document.querySelectorAll('#six li[data-state="open"]').length === 6
      && document.querySelectorAll('#six li[data-state="waiting"]').length === 1);
  },
  "the chat open, fault switches applied": async (page) => {
    await page.click("#six-close");
    await page.click("#chat-start");
    await page.locator("#chat .chat-grid").waitFor();
    await page.fill("#faults input[name=latency_ms]", "0");
    await page.locator("#faults").getByRole("button", { name: "Apply" }).click();
    await page.locator("#faults-status", { hasText: "Applied" }).waitFor();
  },
  "a reconnect storm charted": async (page) => {
    await page.fill("#storm input[name=clients]", "20");
    await page.fill("#storm input[name=retry_ms]", "200");
    await page.click("#storm-start");
    await page.locator(".storm-run", { hasText: "20 of 20 clients back" }).waitFor({ timeout: 30000 });
  },
};
