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

/**
 * Starts the server; resolves with { base, stop } (and `http1`, the origin
 * of the HTTP/1.1-only port, when `args` has `--http1-port`). With `--tls`
 * the base is https://localhost:P, the name its certificate is for: the
 * context must then be made with `ignoreHTTPSErrors`.
 */
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
  // The ready line comes first; the TLS lines (the HTTP/1.1 port) before "Press Ctrl-C".
  const { port, http1 } = await new Promise((resolve, reject) => {
    // A debug build starts in about 3 s; a machine busy compiling can take ten times that.
    const timer = setTimeout(() => reject(new Error("the server did not print its port within 60 s")), 60000);
    child.once("exit", (code) => reject(new Error(`the server exited with ${code}`)));
    const found = { port: null, http1: null };
    lines.on("line", (line) => {
      const ready = line.match(/running on port (\d+)/);
      if (ready) found.port = Number(ready[1]);
      const h1 = line.match(/^ {2}HTTP\/1\.1: +https:\/\/[^/]+:(\d+)\//);
      if (h1) found.http1 = `https://localhost:${h1[1]}`;
      if (found.port && /^Press Ctrl-C/.test(line)) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  return {
    base: args.includes("--tls") ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    http1,
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

/**
 * A fresh learner (own cookie jar) with problem tracking; `options` go to the
 * browser context, except `alsoOrigins`: origins besides `base` the page may reach.
 */
export async function newLearner(browser, base, viewport = { width: 1280, height: 800 }, options = {}) {
  const { alsoOrigins = [], ...contextOptions } = options;
  const context = await browser.newContext({ ...contextOptions, viewport });
  const page = await context.newPage();
  const problems = { consoleErrors: [], foreignRequests: [] };
  page.on("console", (m) => {
    if (m.type() === "error") problems.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => problems.consoleErrors.push(e.message));
  page.on("request", (r) => {
    const url = r.url();
    // blob: URLs of this origin are the editor's sandbox importing the learner's code.
    const ours = [base, ...alsoOrigins].some((o) => url.startsWith(o) || url.startsWith(o.replace("http", "ws")));
    if (!ours && !url.startsWith("data:") && !url.startsWith(`blob:${base}/`)) {
      problems.foreignRequests.push(url);
    }
  });
  return { context, page, problems };
}
