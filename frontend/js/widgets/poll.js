import { PollingClient, StatusKind } from "../clients.js";
import { file } from "../clients/poll.js";
import { button, el, LogKind, messageLog, sourceBox, status } from "./kit.js";

const LOGGED_AS = { [StatusKind.news]: LogKind.news, [StatusKind.trouble]: LogKind.warn };

export function mount(root) {
  const log = messageLog("Poll answers");
  const state = status();
  const interval = el("select", { "aria-label": "Polling interval" });
  for (const ms of [500, 1000, 2000, 5000]) interval.add(new Option(`every ${ms / 1000} s`, ms, false, ms === 1000));
  const client = new PollingClient({
    intervalMs: 1000,
    onStatus: (text, kind) => { state.textContent = text; log.add(text, LOGGED_AS[kind] ?? LogKind.empty); },
  });
  interval.addEventListener("change", () => { client.intervalMs = Number(interval.value); });
  const toggle = button("Start polling", () => (client.running ? stop() : start()));
  toggle.dataset.client = "poll";
  const start = (opts) => { client.start(opts); toggle.textContent = "Stop polling"; toggle.setAttribute("aria-pressed", "true"); };
  const stop = () => { client.stop(); toggle.textContent = "Start polling"; toggle.setAttribute("aria-pressed", "false"); };
  root.append(
    el("div", { class: "widget-controls" }, toggle, interval,
      button("Poll once", () => { client.actor = "learner"; client.once(); }, "ghost")),
    state, log.node, sourceBox(file));
  return { start, stop, stopClients: stop, get running() { return client.running; } };
}
