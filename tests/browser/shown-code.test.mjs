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
