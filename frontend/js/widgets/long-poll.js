import { LongPollingClient, StatusKind } from "../clients.js";
import { file } from "../clients/long-poll.js";
import { button, el, LogKind, messageLog, sourceBox, status } from "./kit.js";

const LOGGED_AS = { [StatusKind.news]: LogKind.news, [StatusKind.trouble]: LogKind.warn };

export function mount(root) {
  const log = messageLog("Long-poll answers");
  const state = status();
  const client = new LongPollingClient({
    onStatus: (text, kind) => {
      state.textContent = text;
      // The question going out is the status line only; its answer is logged.
      if (kind !== StatusKind.waiting) log.add(text, LOGGED_AS[kind] ?? LogKind.plain);
    },
  });
  const toggle = button("Start long-polling", () => (client.running ? stop() : start()));
  toggle.dataset.client = "long-poll";
  const start = (opts) => { client.start(opts); toggle.textContent = "Stop long-polling"; toggle.setAttribute("aria-pressed", "true"); };
  const stop = () => { client.stop(); toggle.textContent = "Start long-polling"; toggle.setAttribute("aria-pressed", "false"); };
  root.append(el("div", { class: "widget-controls" }, toggle), state, log.node, sourceBox(file));
  return { start, stop, stopClients: stop, get running() { return client.running; } };
}
