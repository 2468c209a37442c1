import { LongPollingClient } from "../clients.js";
import { file } from "../clients/long-poll.js";
import { button, el, messageLog, sourceBox, status } from "./kit.js";

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
  root.append(el("div", { class: "widget-controls" }, toggle), state, log.node, sourceBox(file));
  return { start, stop, stopClients: stop, get running() { return client.running; } };
}
