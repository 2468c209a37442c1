// Drives the in-page code editor as a learner does: with the keyboard.
// Replacing the content means select-all, delete, then typing each line;
// the editor indents new lines itself, so each line is typed without its
// leading spaces (as a person relying on auto-indent would).

import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const frontend = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../frontend");

/** The text of a file under frontend/ (e.g. "js/exercises/poll-since/solution.js"). */
export const frontendFile = (file) => readFile(path.join(frontend, file), "utf8");

/** Code with indentation and blank lines ignored, for comparing what was typed. */
export const normalized = (code) => code.split("\n").map((l) => l.trim()).filter(Boolean).join("\n");

/** Replaces the editor's content in `scope` by typing `code`. */
export async function typeCode(page, scope, code) {
  await scope.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  const lines = code.replace(/\n+$/, "").split("\n");
  for (const [i, line] of lines.entries()) {
    await page.keyboard.type(line.trimStart());
    if (i < lines.length - 1) await page.keyboard.press("Enter");
  }
  // Leave the editor the keyboard way; focus lands on Run.
  await page.keyboard.press("Escape");
}

/**
 * Presses Run in `scope` with the keyboard (focus, Enter: no layout shift can
 * move the button from under a pointer) and waits until the run has started.
 */
export async function pressRun(scope) {
  const state = scope.locator(".runner-state");
  const before = await state.textContent();
  const run = scope.locator('[data-action="run-code"]');
  await run.focus();
  await run.press("Enter");
  // A run says "Running: …" at once and "Run … after N s" when it ends.
  await scope.page().waitForFunction(([node, was]) => node.textContent !== was && !node.textContent.startsWith("Not running"),
    [await state.elementHandle(), before], { timeout: 10000 });
}

/** Presses Run in `scope` and waits until the run has ended; returns the status line. */
export async function runAndWait(scope, timeout = 90000) {
  await pressRun(scope);
  await scope.locator('[data-action="run-code"]:not([disabled])').waitFor({ timeout });
  return scope.locator(".runner-state").textContent();
}
