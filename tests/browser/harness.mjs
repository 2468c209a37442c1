// Starts the real server binary on a free port and a headless Chromium
// (the system one: Playwright's own browser downloads are not used), and
// records console errors and requests that leave the server's origin.

import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const screenshots = path.join(root, "target", "screenshots");
mkdirSync(screenshots, { recursive: true });

const binary = process.env.PLAYGROUND_BIN ?? path.join(root, "target", "debug", "realtime-playground");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Starts the server; resolves with { base, stop }. */
export async function startServer(args = []) {
  // --ephemeral: no progress file, so runs never share (or touch the user's) progress.
  // PLAYGROUND_LOG_DIR: each server's log (at RUST_LOG, default info) in its own file, to debug a failing run.
  const logDir = process.env.PLAYGROUND_LOG_DIR;
  const log = logDir ? openSync(path.join(logDir, `server-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`), "w") : "inherit";
  const child = spawn(binary, ["--port", "0", "--feeds-paused", "--ephemeral", ...args], {
    stdio: ["ignore", "pipe", log],
    env: { ...process.env, RUST_LOG: logDir ? (process.env.RUST_LOG ?? "info") : "warn" },
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    // A debug build starts in about 3 s; a machine busy compiling can take ten times that.
    const timer = setTimeout(() => reject(new Error("the server did not print its port within 60 s")), 60000);
    child.once("exit", (code) => reject(new Error(`the server exited with ${code}`)));
    lines.on("line", (line) => {
      const m = line.match(/running on port (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    base: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGTERM");
    }),
  };
}

export async function startBrowser() {
  return chromium.launch({
    executablePath: browserPath,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** A fresh learner (own cookie jar) with problem tracking; `options` go to the browser context. */
export async function newLearner(browser, base, viewport = { width: 1280, height: 800 }, options = {}) {
  const context = await browser.newContext({ ...options, viewport });
  const page = await context.newPage();
  const problems = { consoleErrors: [], foreignRequests: [] };
  page.on("console", (m) => {
    if (m.type() === "error") problems.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => problems.consoleErrors.push(e.message));
  page.on("request", (r) => {
    const url = r.url();
    // blob: URLs of this origin are the editor's sandbox importing the learner's code.
    if (!url.startsWith(base) && !url.startsWith(base.replace("http", "ws")) && !url.startsWith("data:") && !url.startsWith(`blob:${base}/`)) {
      problems.foreignRequests.push(url);
    }
  });
  return { context, page, problems };
}
