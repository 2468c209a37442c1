// "Write the code yourself" (issue 15, acceptance 1 and 2), through the
// page as a learner: for each exercise the starting file runs and the step
// stays unticked; the reference solution, typed into the editor with the
// keyboard, runs and the step ticks only then. And the sandbox's caps: a
// loop that never yields and a script opening 100 connections are stopped
// and reported, while the page and the server keep answering.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { newLearner, startBrowser, startServer } from "./harness.mjs";
import { frontendFile, normalized, pressRun, runAndWait, typeCode } from "./editor-driver.mjs";

const SLUG = "write-the-code";
const EXERCISES = [
  { step: "poll-without-downloading-twice", name: "poll-since" },
  { step: "back-off-when-the-server-fails", name: "long-poll-backoff", hammers: true },
  { step: "a-watchdog-for-a-silent-stream", name: "sse-watchdog" },
  { step: "reconnect-with-back-off-jitter-and-since", name: "ws-reconnect" },
  { step: "show-every-chat-message-exactly-once", name: "chat" },
];

let server;
let browser;
before(async () => { [server, browser] = await Promise.all([startServer(), startBrowser()]); });
after(async () => { await browser?.close(); await server?.stop(); });

const editorText = (pane) => pane.locator(".code-runner").evaluate((n) => n.editorText());

async function progress(page, step) {
  const p = await (await page.request.get(`${server.base}/api/lessons/${SLUG}/progress`)).json();
  return p.steps.find((s) => s.id === step);
}

async function openStep(page, step) {
  await page.goto("about:blank");
  await page.goto(`${server.base}/lessons/${SLUG}#${step}`);
  await page.locator("#live-pane .cm-content").waitFor();
  await page.locator(".step-task").waitFor();
}

describe("each exercise fails with its starting file and passes with its solution", { concurrency: 1 }, () => {
  for (const { step, name, hammers = false } of EXERCISES) {
    test(name, { timeout: 240000 }, async () => {
      const { page, context, problems } = await newLearner(browser, server.base);
      const pane = page.locator("#live-pane");
      try {
        await openStep(page, step);
        const start = await frontendFile(`js/exercises/${name}/start.js`);
        assert.equal(normalized(await editorText(pane)), normalized(start), "the editor holds the starting file");

        const ended = await runAndWait(pane);
        assert.match(ended, /^Run finished/, ended);
        // The page refreshes progress every 1.5 s; the judgement is the server's, now.
        let p = await progress(page, step);
        assert.equal(p.done, false, `the starting file passed: ${JSON.stringify(p.checks)}`);
        if (hammers) {
          assert.ok(p.checks.find((c) => c.text === "long_poll_errors <= 8").value > 100, "the start retried at once, over and over");
          await pane.locator(".sandbox-console li.cap").first().waitFor();
        }

        // The button: a budget the start overran also says "press Start this step over".
        await page.getByRole("button", { name: "Start this step over" }).click();
        await page.locator(".step-task", { hasText: "only what you do from here counts" }).waitFor();
        const solution = await frontendFile(`js/exercises/${name}/solution.js`);
        await typeCode(page, pane, solution);
        assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), "run-code", "Esc left the editor for Run");
        assert.equal(normalized(await editorText(pane)), normalized(solution), "typed as written");
        await runAndWait(pane);
        p = await progress(page, step);
        assert.equal(p.done, true, `the solution did not pass: ${JSON.stringify(p.checks)}`);
        await page.locator(`.toc-link.done[href="#${step}"]`).waitFor({ timeout: 5000 });

        // Reset brings the starting file back.
        await pane.locator('[data-action="reset-code"]').click();
        assert.equal(normalized(await editorText(pane)), normalized(start));
        // A starting file that hammers is stopped by the sandbox's request cap
        // (its refusal reaches the console as the code's own uncaught error).
        const unexpected = problems.consoleErrors.filter((m) => !(hammers && /^sandbox: fetch \S+ refused: the cap is/.test(m)));
        assert.deepEqual(unexpected, []);
      } finally {
        await context.close();
      }
    });
  }
});

describe("the sandbox's caps", { concurrency: 1 }, () => {
  async function runCode(page, code) {
    await openStep(page, EXERCISES[0].step);
    const pane = page.locator("#live-pane");
    await typeCode(page, pane, code);
    await pressRun(pane);
    return pane;
  }

  async function serverAnswersPromptly(page) {
    const t0 = Date.now();
    const res = await page.request.get(`${server.base}/api/status`);
    assert.equal(res.status(), 200);
    assert.ok(Date.now() - t0 < 2000, "the server answered within 2 s");
  }

  test("a loop that never yields is stopped and reported; page and server stay responsive", { timeout: 60000 }, async () => {
    const { page, context } = await newLearner(browser, server.base);
    try {
      const pane = await runCode(page, "export function main() {\nwhile (true) {}\n}");
      // The page's own thread is free while the worker spins.
      const t0 = Date.now();
      assert.equal(await page.evaluate(() => 1 + 1), 2);
      assert.ok(Date.now() - t0 < 1000, "the page answered at once");
      await serverAnswersPromptly(page);
      await pane.locator(".runner-state", { hasText: "held the thread" }).waitFor({ timeout: 15000 });
      await pane.locator(".sandbox-console li", { hasText: "every connection the code opened is closed" }).waitFor();
    } finally {
      await context.close();
    }
  });

  test("100 connections: the sandbox opens 8, refuses and reports the rest, and Stop closes them", { timeout: 60000 }, async () => {
    const { page, context } = await newLearner(browser, server.base);
    try {
      const pane = await runCode(page, [
        "export function main() {",
        "let opened = 0;",
        "for (let i = 0; i < 100; i++) {",
        "try { new EventSource(\"/api/sse\"); opened += 1; } catch (err) { console.log(err.message); }",
        "}",
        "console.log(`opened ${opened}`);",
        "}",
      ].join("\n"));
      await pane.locator(".sandbox-console li", { hasText: "opened 8" }).waitFor({ timeout: 15000 });
      assert.equal(await pane.locator(".sandbox-console li.cap").count(), 92, "each refusal is reported");
      await pane.locator(".runner-state", { hasText: "92 refused" }).waitFor();
      await serverAnswersPromptly(page);
      const open = async () => (await (await page.request.get(`${server.base}/api/status`)).json()).connections.sse;
      assert.ok(await open() <= 8, "at most 8 streams reached the server");
      await pane.locator('[data-action="stop-code"]').click();
      const end = Date.now() + 10000;
      while (await open() !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      assert.equal(await open(), 0, "Stop closed every stream");
    } finally {
      await context.close();
    }
  });
});
