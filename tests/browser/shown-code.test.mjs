// The code a widget shows is the code it runs (issue 15, acceptance 5).
// Each transport widget imports its client from frontend/js/clients/ and
// shows that module's own text (its `file` export is its import.meta.url).
// This test fails when what a widget shows differs from the file it runs:
// the text in the page must equal the served module byte for byte, the
// page must have loaded that module as a script, and no transport widget
// may fall back to a hand-written snippet (codeBox).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pressRun } from "./editor-driver.mjs";
import { newLearner, startBrowser, startServer } from "./harness.mjs";

const frontend = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../frontend");
const WIDGETS = [
  { lesson: "polling", widget: "poll", files: ["/js/clients/poll.js"] },
  { lesson: "long-polling", widget: "long-poll", files: ["/js/clients/long-poll.js"] },
  { lesson: "sse", widget: "sse", files: ["/js/clients/sse.js"] },
  { lesson: "websockets", widget: "ws", files: ["/js/clients/ws.js"] },
  { lesson: "common-mistake#one-chat-built-twice", widget: "chat", files: ["/js/clients/chat-sse.js", "/js/clients/chat-ws.js"] },
];

let server;
let browser;
before(async () => { [server, browser] = await Promise.all([startServer(), startBrowser()]); });
after(async () => { await browser?.close(); await server?.stop(); });

test("transport widgets show their client module, not a snippet", async () => {
  for (const { widget, files } of WIDGETS) {
    const source = await readFile(path.join(frontend, "js/widgets", `${widget}.js`), "utf8");
    assert.doesNotMatch(source, /codeBox\(/, `${widget}.js shows a hand-written snippet`);
    for (const file of files) {
      const name = path.basename(file);
      assert.match(source, new RegExp(`from "\\.\\./clients/${name.replace(".", "\\.")}"`), `${widget}.js does not import ${file}`);
    }
  }
});

for (const { lesson, widget, files } of WIDGETS) {
  test(`${widget}: the shown code is the served file it runs`, async () => {
    const { page, context, problems } = await newLearner(browser, server.base);
    try {
      await page.goto(`${server.base}/lessons/${lesson}`);
      await page.locator(`.live-pane .w-${widget}`).waitFor();
      const shown = page.locator(`.live-pane .w-${widget} code[data-source]`);
      await page.waitForFunction((w) => [...document.querySelectorAll(`.live-pane .w-${w} code[data-source]`)]
        .every((c) => c.textContent !== "loading…"), widget);
      assert.deepEqual(await shown.evaluateAll((cs) => cs.map((c) => c.dataset.source)), files);
      const loaded = await page.evaluate(() => performance.getEntriesByType("resource").map((r) => new URL(r.name).pathname));
      for (const [i, file] of files.entries()) {
        assert.ok(loaded.includes(file), `${file} was not loaded by the page`);
        const served = await (await page.request.get(`${server.base}${file}`)).text();
        assert.equal(await shown.nth(i).textContent(), served, `${widget} shows something other than ${file}`);
        assert.equal(served, await readFile(path.join(frontend, file), "utf8"));
      }
      assert.deepEqual(problems.consoleErrors, []);
    } finally {
      await context.close();
    }
  });
}

// The shown file is also what "Edit and run this code" runs, in the sandbox:
// each client's main() logs what it receives. The SSE client's event is of a
// type no client lists (EventSource drops such named events; `named=` makes
// the server send it unnamed, so onmessage gets it).
for (const { lesson, widget, type } of [
  { lesson: "polling", widget: "poll", type: "note" },
  { lesson: "long-polling", widget: "long-poll", type: "note" },
  { lesson: "sse", widget: "sse", type: "sandbox-made-up" },
  { lesson: "websockets", widget: "ws", type: "note" },
]) {
  test(`${widget}: the shown client runs in the sandbox and receives an event`, async () => {
    const { page, context, problems } = await newLearner(browser, server.base);
    try {
      await page.goto(`${server.base}/lessons/${lesson}`);
      const box = page.locator(`.live-pane .w-${widget} details.widget-code`);
      await box.locator("summary").click();
      await box.locator('[data-action="edit-source"]').click();
      await pressRun(box);
      const marker = `ran-in-the-sandbox-${widget}`;
      const line = box.locator(".sandbox-console li", { hasText: marker }).first();
      // Published until the running client has picked one up (a poller's first ask only learns where "now" is).
      for (let i = 0; i < 40 && !(await line.isVisible()); i++) {
        await page.request.post(`${server.base}/api/events`, { data: { topic: "demo", type, data: { text: marker } } });
        await page.waitForTimeout(300);
      }
      await line.waitFor({ timeout: 5000 });
      assert.deepEqual(problems.consoleErrors, []);
    } finally {
      await context.close();
    }
  });
}
