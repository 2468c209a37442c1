// The fault actions and the corporate proxy as a real browser lives them:
// Chromium's own EventSource and WebSocket, no library in between.
// A failed handshake is logged by the browser as a console error; these
// tests expect exactly those, and nothing from another origin.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { newLearner, startBrowser, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer(["--sse-retry-ms", "300"]);
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a deploy ends an EventSource for good, and a WebSocket with back-off comes back", { timeout: 60000 }, async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/lab.html`);
  await page.evaluate(async () => {
    const log = (window.__log = []);
    const es = (window.__es = new EventSource("/api/sse"));
    await new Promise((r) => es.addEventListener("open", r, { once: true }));
    es.addEventListener("error", () => log.push(`sse error, readyState ${es.readyState}`));
    // A WebSocket client that reconnects with exponential back-off.
    window.__wsOpen = 0;
    const connect = (wait) => {
      const ws = new WebSocket(`ws://${location.host}/api/ws`);
      ws.onopen = () => { window.__wsOpen += 1; wait = 100; };
      ws.onclose = (e) => {
        log.push(`ws close ${e.code}`);
        setTimeout(() => connect(Math.min(wait * 2, 800)), wait);
      };
    };
    connect(100);
    while (window.__wsOpen < 1) await new Promise((r) => setTimeout(r, 20));
  });
  await page.getByLabel(/Deploy: 502 for/).fill("3");
  await page.getByRole("button", { name: "Deploy" }).click();
  await page.locator("#actions-status", { hasText: "cut" }).waitFor();
  assert.match(await page.locator("#actions-status").innerText(), /^Deploying: [2-9] connections cut/);

  // EventSource reconnects after its 300 ms retry, meets the 502, and closes for good.
  await page.waitForFunction(() => window.__es.readyState === EventSource.CLOSED, null, { timeout: 10000 });
  // The WebSocket closed with 1001, met the 502 as 1006, and is back once the deploy is over.
  await page.waitForFunction(() => window.__wsOpen >= 2, null, { timeout: 20000 });
  const log = await page.evaluate(() => window.__log);
  assert.ok(log.includes("ws close 1001"), `going away: ${log.join("\n")}`);
  assert.ok(log.includes("ws close 1006"), `a refused reconnect: ${log.join("\n")}`);
  const traffic = await (await page.request.get(`${server.base}/api/traffic?transport=sse`)).json();
  assert.ok(traffic.entries.some((e) => e.status === 502), "the 502 is in the log");
  assert.deepEqual(problems.foreignRequests, []);
  assert.ok(problems.consoleErrors.every((e) => /502|WebSocket|EventSource/.test(e)), problems.consoleErrors.join("\n"));
  await context.close();
});

test("behind the corporate proxy a WebSocket fails with 1006 while polling works", async () => {
  const { page, problems, context } = await newLearner(browser, server.base);
  await page.goto(`${server.base}/lab.html`);
  await page.getByLabel("Corporate proxy").check();
  await page.getByRole("button", { name: "Apply" }).click();
  await page.locator("#faults-status", { hasText: "Applied" }).waitFor();
  const outcome = await page.evaluate(async () => {
    const code = await new Promise((resolve) => {
      const ws = new WebSocket(`ws://${location.host}/api/ws`);
      ws.onclose = (e) => resolve(e.code);
    });
    const poll = await fetch("/api/poll");
    return { code, poll: poll.ok };
  });
  assert.deepEqual(outcome, { code: 1006, poll: true });
  assert.deepEqual(problems.foreignRequests, []);
  assert.ok(problems.consoleErrors.every((e) => /WebSocket|403/.test(e)), problems.consoleErrors.join("\n"));
  await page.getByRole("button", { name: "Reset all" }).click();
  await context.close();
});
