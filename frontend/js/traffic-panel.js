// The traffic panel: the learner's own requests, frames and events, live.
// Usable on its own page and embeddable beside a lesson: mountTrafficPanel(el).

import { getJson, sendJson } from "./api.js";
import { curlLines } from "./curl-lines.js";
import { el } from "./dom.js";
import { bytes, clock, millis } from "./format.js";
import { TrafficChart } from "./traffic-chart.js";

const MAX_ROWS = 300;
const TRANSPORTS = [
  ["", "All"],
  ["poll", "Polling"],
  ["long_poll", "Long-polling"],
  ["sse", "SSE"],
  ["websocket", "WebSocket"],
  ["api", "Other API"],
];
const LABEL = Object.fromEntries(TRANSPORTS);


export function mountTrafficPanel(root, { transport = "", compact = false } = {}) {
  let filter = transport;
  let paused = false;
  let held = [];
  const all = [];

  const select = el("select", { "aria-label": "Show transport" });
  for (const [value, text] of TRANSPORTS) select.add(new Option(text, value, false, value === filter));
  const pause = el("button", { type: "button", class: "ghost", "aria-pressed": "false", text: "Pause" });
  const clear = el("button", { type: "button", class: "ghost", text: "Clear" });
  const har = el("a", { href: "/api/traffic.har", download: "realtime-playground.har", class: "button ghost", text: "Export HAR" });
  const state = el("span", { class: "muted small", "aria-live": "polite", text: "Connecting…" });
  const toolbar = el("div", { class: "traffic-toolbar" }, select, pause, clear, har, state);
  // Beside a lesson the curl lines start folded; on the traffic page, open.
  const curl = curlLines({ open: !compact });

  const summaries = el("ul", { class: "traffic-summaries", "aria-label": "Per-transport summary" });
  const canvas = el("canvas", { class: "traffic-chart", role: "img", "aria-label": "Requests (bars) and bytes (line) per second over the last 60 seconds" });
  const legend = el("p", { class: "muted small traffic-legend" },
    "Bars: requests and connections opened per second, coloured by transport. Line: bytes per second, both directions.");
  // Scrolls: focusable, so a keyboard can scroll it too.
  const timeline = el("ol", { class: "timeline", "aria-label": "Traffic timeline, newest first", tabindex: "0" });
  const empty = el("li", { class: "timeline-empty muted" },
    "Nothing yet. Use a transport (the buttons above, a lesson, Swagger UI or curl) and its traffic appears here.");
  timeline.append(empty);
  root.append(toolbar, curl.node, summaries, canvas, legend, timeline);

  const chart = new TrafficChart(canvas);
  chart.filter = filter;

  const visible = (e) => !filter || e.transport === filter;

  const render = (e) => {
    const arrow = e.direction === "up" ? "→" : e.direction === "down" ? "←" : "⇄";
    const arrowTitle = e.direction === "up" ? "client → server" : e.direction === "down" ? "server → client" : "request and answer";
    const size = e.bytes_up + e.bytes_down;
    const delay = e.delays_ms?.length ? millis(Math.max(...e.delays_ms)) : e.catch_up ? "catch-up" : "";
    const classes = ["row", `t-${e.transport}`, `k-${e.kind}`];
    if (e.empty === true) classes.push("is-empty");
    if (e.empty === false || e.event_ids?.length) classes.push("has-news");
    if ((e.status ?? 0) >= 400) classes.push("is-error");
    return el("li", { class: classes.join(" ") },
      el("time", { class: "at", datetime: e.at, text: clock(e.at_ms) }),
      el("span", { class: "badge", text: LABEL[e.transport] ?? e.transport }),
      el("span", { class: "arrow", title: arrowTitle, "aria-label": arrowTitle, text: arrow }),
      el("span", { class: "say" },
        e.actor === "play" ? el("span", { class: "actor-play", title: "Play mode (show me) did this; it counts as watched, not done", text: "show me · " }) : null,
        e.narration),
      el("span", { class: "size", title: "bytes on the wire, both directions", text: bytes(size) }),
      el("span", { class: "delay", title: "publish → delivered; catch-up: older events the client asked for, not a delay", text: delay }),
    );
  };

  const show = (e) => {
    if (!visible(e)) return;
    empty.remove();
    timeline.prepend(render(e));
    while (timeline.children.length > MAX_ROWS) timeline.lastElementChild.remove();
  };

  const rerender = () => {
    timeline.replaceChildren();
    const shown = all.filter(visible).slice(-MAX_ROWS);
    if (!shown.length) timeline.append(empty);
    for (const e of shown) timeline.prepend(render(e));
  };

  const add = (e) => {
    all.push(e);
    if (all.length > 2000) all.splice(0, all.length - 2000);
    chart.add(e);
    if (paused) {
      held.push(e);
      pause.textContent = `Resume (${held.length} new)`;
    } else {
      show(e);
    }
  };

  select.addEventListener("change", () => {
    filter = select.value;
    chart.filter = filter;
    chart.draw();
    rerender();
    refreshStats();
  });
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) {
      held.forEach(show);
      held = [];
    }
    pause.textContent = paused ? "Resume" : "Pause";
  });
  clear.addEventListener("click", async () => {
    await sendJson("DELETE", "/api/traffic");
    all.length = 0;
    held = [];
    chart.clear();
    rerender();
    refreshStats();
  });

  const refreshStats = async () => {
    try {
      const stats = await getJson("/api/traffic/stats?window=60");
      const rows = stats.transports
        .filter((t) => t.requests || t.connections || t.open_connections)
        .filter((t) => !filter || t.transport === filter)
        .map((t) => el("li", { class: `t-${t.transport}` },
          el("span", { class: "badge", text: LABEL[t.transport] ?? t.transport }),
          el("span", { text: t.summary })));
      summaries.replaceChildren(...(rows.length ? rows : [el("li", { class: "muted", text: "Last 60 s: no traffic yet." })]));
    } catch {
      // The next refresh tries again.
    }
  };
  setInterval(refreshStats, 2000);

  (async () => {
    let since = 0;
    try {
      const page = await getJson("/api/traffic?limit=300");
      for (const e of page.entries) add(e);
      since = page.entries.at(-1)?.seq ?? 0;
      state.textContent = `Your learner id: ${page.learner}`;
      curl.setLearner(page.learner);
    } catch (err) {
      state.textContent = `Could not load the log: ${err.message}`;
    }
    const source = new EventSource(`/api/traffic/stream?since=${since}`);
    source.addEventListener("entry", (m) => add(JSON.parse(m.data)));
    let interrupted = false;
    source.onerror = () => { interrupted = true; state.textContent = "Live updates interrupted; reconnecting…"; };
    source.onopen = () => {
      if (interrupted) state.textContent = "Live again.";
      interrupted = false;
    };
    refreshStats();
  })();

  return { setFilter(t) { select.value = t; select.dispatchEvent(new Event("change")); } };
}
