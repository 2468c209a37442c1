import { LongPollingClient } from "../clients.js";
import { button, codeBox, el, messageLog, status } from "./kit.js";

const CODE = `let since = null;
while (running) {
  const q = since === null ? "" : \`?since=\${since}\`;
  // The server holds this request until news arrives or its timeout
  // (25 s by default; add &timeout=S to choose) passes.
  const res = await fetch(\`/api/long-poll\${q}\`);
  since = Number(res.headers.get("X-Last-Event-Id"));
  if (res.status === 200) since = (await res.json()).last_id;
  // ...and we ask again at once.
}`;

export function mount(root) {
  const log = messageLog("Long-poll answers");
  const state = status();
  const client = new LongPollingClient({
    onStatus: (text) => { state.textContent = text; if (!text.startsWith("waiting")) log.add(text, /^(got|caught up)/.test(text) ? "news" : ""); },
  });
  const toggle = button("Start long-polling", () => (client.running ? stop() : start()));
  toggle.dataset.client = "long-poll";
  const start = (opts) => { client.start(opts); toggle.textContent = "Stop long-polling"; toggle.setAttribute("aria-pressed", "true"); };
  const stop = () => { client.stop(); toggle.textContent = "Start long-polling"; toggle.setAttribute("aria-pressed", "false"); };
  root.append(el("div", { class: "widget-controls" }, toggle), state, log.node, codeBox(CODE));
  return { start, stop, get running() { return client.running; } };
}
