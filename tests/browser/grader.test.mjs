// Lesson 10, "Your own server": the learner starts the lesson's Python
// server (FastAPI on uvicorn, examples/sse-servers/python), types its URL
// into the grader, grades it from the keyboard, reads an all-pass report
// card, and the step ticks. Light and dark, the card passes axe's WCAG 2.2 AA
// rules, and nothing above the card moves while a run grades.
//
// The server runs from the virtualenv under target/sse-servers/ that
// tests/it/reference_servers.rs makes; this test makes it too when it is missing.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { newLearner, screenshots, startBrowser, startServer } from "./harness.mjs";
import { audit, describe as describeViolations } from "./axe.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const STEP = "your-own-server-python-node-or-rust";

/** The venv's python, with the pinned requirements (made once, like the Rust test does). */
function python() {
  const requirements = path.join(root, "examples/sse-servers/python/requirements.txt");
  const venv = path.join(root, "target/sse-servers/python-venv");
  const stamp = path.join(venv, "requirements.txt");
  const wanted = readFileSync(requirements, "utf8");
  if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== wanted) {
    execFileSync("python3", ["-m", "venv", "--clear", venv], { stdio: "inherit" });
    execFileSync(path.join(venv, "bin/python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements], { stdio: "inherit" });
    writeFileSync(stamp, wanted);
  }
  return path.join(venv, "bin/python");
}

/** Starts the reference server on a free port; resolves with { url, stop } once it says where. */
async function startPythonServer() {
  const child = spawn(python(), [path.join(root, "examples/sse-servers/python/server.py"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the Python server did not say where it listens")), 30000);
    child.once("exit", (code) => reject(new Error(`the Python server exited with ${code}`)));
    lines.on("line", (line) => {
      const m = line.match(/^SSE server listening on (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return { url, stop: () => new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); }) };
}

let browser;
let server;
let reference;
before(async () => {
  [browser, server, reference] = await Promise.all([startBrowser(), startServer(), startPythonServer()]);
});
after(async () => {
  await Promise.all([browser?.close(), server?.stop(), reference?.stop()]);
});

async function stepState(page) {
  const p = await (await page.request.get(`${server.base}/api/lessons/whats-next/progress`)).json();
  return p.steps.find((s) => s.id === STEP);
}

test("lesson 10: grade the reference Python server, read the card, the step ticks", { timeout: 180000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  try {
    await page.goto(`${server.base}/lessons/whats-next#${STEP}`);
    await page.waitForFunction(() => document.querySelector("#lesson-text h2")?.textContent.startsWith("Your own server"));
    const pane = page.locator("#live-pane");
    await pane.locator(".w-grader").waitFor();
    // The shown code is the file (tests/it/reference_servers.rs checks the markdown; here, the page).
    const shownPython = await page.locator("#lesson-text pre code.language-python, #lesson-text pre code").allTextContents();
    const file = readFileSync(path.join(root, "examples/sse-servers/python/server.py"), "utf8");
    assert.ok(shownPython.some((t) => t.trim() === file.trim()), "the page shows server.py as it is");

    // Waiting grades nothing.
    await page.waitForTimeout(2500);
    assert.equal((await stepState(page)).done, false, "ticked without a run");
    assert.equal(await pane.locator(".grader-lines").count(), 0, "nothing graded on mount");

    // The learner types the URL their server printed and presses Enter.
    const field = pane.getByLabel("Server URL");
    await field.fill(reference.url);
    await pane.getByLabel("Kind").selectOption("sse");
    const grade = pane.getByRole("button", { name: "Grade", exact: true });
    const before = { grade: (await grade.boundingBox()).y, card: (await pane.locator(".grader-card").boundingBox()).y };
    await field.press("Enter");
    await pane.locator('.grader-card[aria-busy="true"]').waitFor();
    await page.waitForTimeout(1500); // the status line's seconds have ticked
    const during = { grade: (await grade.boundingBox()).y, card: (await pane.locator(".grader-card").boundingBox()).y };
    assert.deepEqual(during, before, "nothing above the card moves while it grades");

    await pane.locator('.grader-card[data-all-pass="true"]').waitFor({ timeout: 40000 });
    const rows = pane.locator(".grader-lines > li");
    assert.equal(await rows.count(), 12, "one line per rule");
    const verdicts = await pane.locator(".grader-lines .grader-verdict").allInnerTexts();
    assert.ok(verdicts.every((v) => /^(✓ Pass|i Info)$/.test(v.trim())), `every verdict in words: ${verdicts}`);
    const caption = await pane.locator(".grader-summary").innerText();
    assert.match(caption, /^All pass: 11 passed, 0 failed, 0 skipped, 1 info\. \d+\.\d s, \d+ connections, [\d.]+ (B|KiB) read from 127\.0\.0\.1:\d+\.$/);
    await pane.locator('li[data-line="last_event_id_resume"] summary').click();
    assert.match(await pane.locator('li[data-line="last_event_id_resume"] pre').first().innerText(), /last-event-id/);
    await pane.locator(".grader-summary").scrollIntoViewIfNeeded();

    await page.locator(`.toc-link.done[href="#${STEP}"]`).waitFor({ timeout: 10000 });
    const s = await stepState(page);
    assert.equal(s.done, true);
    assert.equal(s.helped, false, "done by the learner, not show me");

    for (const [size, viewport] of [["wide", { width: 1280, height: 800 }], ["narrow", { width: 390, height: 844 }]]) {
      await page.setViewportSize(viewport);
      for (const scheme of ["light", "dark"]) {
        await page.emulateMedia({ colorScheme: scheme });
        await pane.locator(".grader-summary").scrollIntoViewIfNeeded();
        await page.screenshot({ path: path.join(screenshots, `grader-card-${size}-${scheme}.png`), fullPage: false });
        const found = (await audit(page, `whats-next#${STEP} card, ${size}, ${scheme}`))
          .filter((v) => v.target.includes("grader") || v.target.includes("live-pane"));
        assert.deepEqual(found, [], describeViolations(found));
      }
    }
    assert.deepEqual(problems.consoleErrors, [], "no console errors");
    assert.deepEqual(problems.foreignRequests, [], "the page itself never talks to the graded server");
  } finally {
    await context.close();
  }
});
