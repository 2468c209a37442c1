// The comparison: the four clients side by side on the same feed, and the
// seed's table with the learner's own measurements under each word. Nothing
// connects until the learner presses a Start button; the numbers come from
// the server's statistics of the learner's traffic since the first start.

import { LongPollingClient, PollingClient, SseClient, WebSocketClient } from "../clients.js";
import { getJson, getText } from "../api.js";
import { bytes, millis } from "../format.js";
import { button, el } from "./kit.js";

const LANES = [
  { id: "poll", transport: "poll", title: "Polling", klass: "PollingClient", make: (onStatus) => new PollingClient({ intervalMs: 1000, onStatus }), on: "Start polling", off: "Stop polling" },
  { id: "long-poll", transport: "long_poll", title: "Long-polling", klass: "LongPollingClient", make: (onStatus) => new LongPollingClient({ onStatus }), on: "Start long-polling", off: "Stop long-polling" },
  { id: "sse", transport: "sse", title: "SSE", klass: "SseClient", make: (onStatus) => new SseClient({ onStatus }), on: "Open the stream", off: "Close the stream" },
  { id: "ws", transport: "websocket", title: "WebSockets", klass: "WebSocketClient", make: (onStatus) => new WebSocketClient({ onStatus }), on: "Connect", off: "Disconnect" },
];

const count = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const perEvent = (t) => (t.bytes_per_event ? `${bytes(Math.round(t.bytes_per_event))} per event` : "no events yet");
const ms = (v) => (v === null || v === undefined ? "—" : millis(v));

// Each row: the table's words per lane (null: the seed's table has no
// long-polling column), then what was measured.
const ROWS = [
  ["Connection", ["Many requests", null, "One long connection", "Persistent upgraded connection"],
    (t) => (t.transport === "poll" || t.transport === "long_poll" ? count(t.requests, "request") : `${count(t.connections, "connection")} opened`)],
  ["Open right now", ["", null, "", ""],
    (t) => `${count(t.open_connections, "connection")} open`],
  ["Direction", ["Request / response", null, "Server → client", "Two-way"],
    (t) => `↑ ${bytes(t.bytes_up)} up\n↓ ${bytes(t.bytes_down)} down\n${count(t.events_delivered, "event")} delivered`],
  ["Efficiency", ["Low", null, "High", "Very high"],
    (t) => perEvent(t) + (t.requests && (t.transport === "poll" || t.transport === "long_poll") ? `\n${Math.round(t.empty_share * 100)} % of answers empty` : "")],
  ["Delay", ["", null, "", ""],
    (t) => `median ${ms(t.delay_p50_ms)}\np95 ${ms(t.delay_p95_ms)}\nworst ${ms(t.delay_max_ms)}`],
  ["Complexity", ["Low", null, "Low", "Medium / high"],
    (t, lines) => (lines[t.transport] ? `${count(lines[t.transport], "line")} of client code in this page` : "—")],
];

/** Lines of code (not blank, not comments) of each client class in clients.js. */
async function linesOfClients() {
  try {
    const source = await getText("/js/clients.js");
    const lines = {};
    for (const lane of LANES) {
      const start = source.indexOf(`export class ${lane.klass} `);
      if (start < 0) continue;
      const next = source.indexOf("\nexport ", start + 1);
      const body = source.slice(start, next < 0 ? undefined : next).split("\n");
      lines[lane.transport] = body.filter((l) => l.trim() && !l.trim().startsWith("//")).length;
    }
    return lines;
  } catch {
    return {};
  }
}

export function mount(root) {
  let since = null; // when the learner first started a client here
  let timer = null;
  let lines = {};
  let last = null; // the latest statistics
  let gone = false;
  const lanes = LANES.map((lane) => {
    const state = el("span", { class: "compare-state small muted", text: "stopped" });
    const client = lane.make((text) => { state.textContent = text; });
    const toggle = button(lane.on, () => (client.running ? api.stop() : api.start()));
    toggle.dataset.client = lane.id;
    toggle.setAttribute("aria-pressed", "false");
    const render = () => {
      toggle.textContent = client.running ? lane.off : lane.on;
      toggle.setAttribute("aria-pressed", String(client.running));
    };
    const api = {
      actor: "learner", // who started it: "play" when show me did
      start(opts) {
        client.start(opts);
        api.actor = opts?.actor ?? "learner";
        since ??= Date.now();
        render();
        watch();
      },
      stop() {
        client.stop();
        state.textContent = "stopped";
        render();
        refresh();
      },
      get running() { return client.running; },
    };
    const row = el("li", { class: `compare-lane t-${lane.transport}` },
      el("span", { class: "badge", text: lane.title }), toggle, state);
    if (lane.id === "ws") {
      // The one client that can talk up its own connection.
      const input = el("input", { type: "text", value: '{"type":"publish","topic":"demo","event":"note","data":{"text":"up the socket"}}', "aria-label": "Message to send (JSON)", spellcheck: "false", class: "mono grow", "data-action": "ws-message" });
      // The learner's own send takes over a socket "show me" opened.
      const mine = async () => {
        if (client.running && api.actor === "play") {
          api.stop();
          api.start();
          await Promise.race([client.ready(), new Promise((r) => setTimeout(r, 3000))]);
        }
        api.send(input.value);
      };
      const send = button("Send", mine, "ghost");
      send.dataset.action = "ws-send";
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") mine(); });
      api.send = (text) => {
        if (!client.running) { state.textContent = "not connected: press Connect first"; return; }
        client.send(text);
        state.textContent = `sent up the socket: ${text.slice(0, 60)}`;
      };
      api.ready = () => client.ready();
      row.append(el("div", { class: "widget-controls compare-send" }, input, send));
    }
    return { lane, api, row };
  });

  const all = el("div", { class: "widget-controls" },
    // Clients "show me" started become the learner's when they press this.
    button("Start all four", () => lanes.forEach((l) => {
      if (l.api.running && l.api.actor === "play") l.api.stop();
      if (!l.api.running) l.api.start();
    })),
    button("Stop all four", () => lanes.forEach((l) => l.api.running && l.api.stop()), "ghost"));
  const table = el("table", { class: "compare" });
  const note = el("p", { class: "muted small", "aria-live": "polite", text: "Start the clients: the table fills with your own traffic from that moment on." });
  root.append(all, el("ul", { class: "compare-lanes", "aria-label": "The four clients" }, ...lanes.map((l) => l.row)),
    el("div", { class: "compare-scroll", tabindex: "0", role: "region", "aria-label": "The table, measured" }, table), note);
  render(null);
  linesOfClients().then((l) => { lines = l; render(last); });

  function render(stats) {
    last = stats;
    const by = Object.fromEntries((stats?.transports ?? []).map((t) => [t.transport, t]));
    const head = el("tr", {}, el("th", { scope: "col", text: "Row" }), ...LANES.map((l) => el("th", { scope: "col" }, l.title,
      l.id === "long-poll" ? el("span", { class: "claim muted small", text: "not in the table" }) : null)));
    const body = ROWS.map(([name, words, measure]) => el("tr", {},
      el("th", { scope: "row", text: name }),
      ...LANES.map((lane, i) => {
        const t = by[lane.transport];
        return el("td", {},
          words[i] ? el("span", { class: "claim", text: words[i] }) : null,
          el("span", { class: "measured", text: t || name === "Complexity" ? measure(t ?? { transport: lane.transport }, lines) : "—" }));
      })));
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  }

  async function refresh() {
    if (since === null || gone) return;
    const window = Math.min(86400, Math.ceil((Date.now() - since) / 1000) + 1);
    try {
      const stats = await getJson(`/api/traffic/stats?window=${window}`);
      render(stats);
      note.textContent = `Measured from your traffic in the last ${window} s, since you started the first client.`;
    } catch {
      note.textContent = "The statistics could not be read; they come back on the next refresh.";
    }
    if (!lanes.some((l) => l.api.running)) {
      clearInterval(timer);
      timer = null;
    }
  }
  function watch() {
    refresh();
    timer ??= setInterval(refresh, 2000);
  }

  return {
    clients: Object.fromEntries(lanes.map((l) => [l.lane.id, l.api])),
    stopClients: () => lanes.forEach((l) => l.api.running && l.api.stop()),
    stop: () => {
      gone = true;
      clearInterval(timer);
      lanes.forEach((l) => l.api.running && l.api.stop());
    },
  };
}
