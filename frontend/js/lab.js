// The comparison lab: start a server-side race, show the seed's table with
// the measured numbers beside each claim, export JSON/CSV; fault switches
// and actions (faults.js), the reconnect storm (storm.js).

import { getJson, pageJson, sendJson } from "./api.js";
import { initTheme } from "./theme.js";
import { el, armControls } from "./dom.js";
import { bytes, millis } from "./format.js";
import { initChallenges } from "./challenges.js";
import { initSix } from "./six.js";
import { raceInBrowser, summarize } from "./browser-race.js";
import { mount as mountChat } from "./widgets/chat.js";
import { mount as mountSequence } from "./widgets/sequence.js";
import { initChatCost } from "./chat-cost.js";
import { initLoadLab } from "./load-lab.js";
import { initFaults } from "./faults.js";
import { initStorm } from "./storm.js";

const $ = (id) => document.getElementById(id);
initTheme($("theme"));
$("swagger-link").hash = "#/Comparison%20lab"; // the lab's operations in Swagger UI

const LANES = [["poll", "Polling"], ["long_poll", "Long-polling"], ["sse", "SSE"], ["websocket", "WebSockets"]];
const CLAIMS = {
  Connection: ["Many requests", "Many held requests", "One long connection", "Persistent upgraded connection"],
  Direction: ["Request/response", "Request/response", "Server → client", "Two-way"],
  Efficiency: ["Low", "Medium", "High", "Very high"],
  Complexity: ["Low", "Low", "Low", "Medium/high"],
};

function measured(row, lane, run) {
  if (!lane) return "not raced";
  switch (row) {
    case "Connection":
      return `${lane.requests} request${lane.requests === 1 ? "" : "s"}, ${lane.connections} connection${lane.connections === 1 ? "" : "s"}`;
    case "Direction":
      return `${lane.received} of ${run.published} events received; ${lane.lost} lost, ${lane.duplicated} duplicated`;
    case "Efficiency": {
      const total = lane.bytes_up + lane.bytes_down;
      const per = lane.received ? ` = ${bytes(Math.round(total / lane.received))} per event` : "";
      const empty = lane.requests ? `; ${Math.round(lane.empty_share * 100)} % empty answers` : "";
      return `${bytes(total)} (${bytes(lane.header_bytes)} headers)${per}${empty}`;
    }
    case "Complexity":
      return lane.errors.length ? `errors: ${lane.errors.join("; ")}` : "no client errors";
    default:
      return "";
  }
}

const PROTOCOLS = { h2: "HTTP/2", "http/1.1": "HTTP/1.1" };

function protocolLabel(lane) {
  if (!lane?.protocol) return "—";
  const label = PROTOCOLS[lane.protocol] ?? lane.protocol;
  // RFC 8441: over HTTP/2 a WebSocket is a stream of the page's connection.
  return lane.transport === "websocket" && lane.protocol === "h2" ? `${label} (extended CONNECT)` : label;
}

function renderResult(run) {
  const byName = Object.fromEntries(run.lanes.map((l) => [l.transport, l]));
  const head = el("tr", {}, el("th", { text: "" }), ...LANES.map(([, label]) => el("th", { scope: "col", text: label })));
  const rows = Object.keys(CLAIMS).map((row) => el("tr", {},
    el("th", { scope: "row", text: row }),
    ...LANES.map(([name], i) => el("td", {},
      el("span", { class: "claim", text: CLAIMS[row][i] }),
      el("span", { class: "measured", text: measured(row, byName[name], run) })))));
  // Which HTTP version carried each lane, as the traffic log saw it (HTTP/2 needs --tls).
  const protocolRow = el("tr", {}, el("th", { scope: "row", text: "Protocol" }),
    ...LANES.map(([name]) => el("td", {}, el("span", { class: "measured", text: protocolLabel(byName[name]) }))));
  const delayRow = el("tr", {}, el("th", { scope: "row", text: "Delay (p50 / p95 / max)" }),
    ...LANES.map(([name]) => {
      const l = byName[name];
      const text = l?.delay_p50_ms != null ? `${millis(l.delay_p50_ms)} / ${millis(l.delay_p95_ms)} / ${millis(l.delay_max_ms)}` : "—";
      return el("td", {}, el("span", { class: "measured", text }));
    }));
  const table = el("table", { class: "compare race-table" }, el("thead", {}, head), el("tbody", {}, ...rows, protocolRow, delayRow));
  const bars = el("div", { class: "race-bars", role: "img", "aria-label": "Median delay per lane, milliseconds (log scale)" },
    ...LANES.filter(([n]) => byName[n]).map(([name, label]) => {
      const d = byName[name].delay_p50_ms ?? 0;
      const width = Math.max(2, Math.min(100, (Math.log10(d + 1) / 4) * 100));
      const fill = el("span", { class: "fill" });
      fill.style.width = `${width}%`; // a CSSOM property, allowed by a strict CSP
      return el("div", { class: `bar-row t-${name}` },
        el("span", { class: "badge", text: label }),
        el("span", { class: "bar" }, fill),
        el("span", { class: "bar-value", text: millis(d) }));
    }));
  $("race-result").replaceChildren(
    el("p", { class: "muted small", text: `Race #${run.id} (${run.mode === "browser" ? "this browser's clients" : "the server's clients"}): ${run.published} events, ${run.burst} every ${run.rate_ms} ms for ${run.duration_s} s; polling every ${run.poll_interval_ms} ms.` }),
    table,
    el("h3", { text: "Median delay, publish → received" }),
    bars);
  const blob = (text, type) => URL.createObjectURL(new Blob([text], { type }));
  $("export-json").href = blob(JSON.stringify(run, null, 2), "application/json");
  const fields = ["transport", "requests", "connections", "empty", "empty_share", "received", "lost", "duplicated",
    "bytes_up", "bytes_down", "header_bytes", "payload_bytes", "delay_p50_ms", "delay_p95_ms", "delay_max_ms", "protocol"];
  const csv = [fields.join(","), ...run.lanes.map((l) => fields.map((f) => l[f] ?? "").join(","))].join("\n");
  $("export-csv").href = blob(`${csv}\n`, "text/csv");
  $("export").hidden = false;
}

/** Live view of a browser race: events received per lane so far. */
function showLive(lanes) {
  const rows = LANES.map(([name, label]) => {
    const n = lanes[name].received.length;
    const fill = el("span", { class: "fill" });
    fill.style.width = `${Math.min(100, n * 4)}%`;
    return el("div", { class: `bar-row t-${name}` },
      el("span", { class: "badge", text: label }),
      el("span", { class: "bar" }, fill),
      el("span", { class: "bar-value", text: `${n} events` }));
  });
  $("race-live").replaceChildren(el("h3", { text: "Received so far, in this browser" }), ...rows);
}

$("race").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const body = Object.fromEntries([...form].filter(([k]) => k !== "mode").map(([k, v]) => [k, Number(v)]));
  body.mode = form.get("mode");
  const status = $("race-status");
  const bar = $("race-progress");
  $("race-start").disabled = true;
  try {
    // Where the browser lanes start: the newest event and log entry before the race.
    const since = (await pageJson("/api/status")).last_id;
    const logStart = (await getJson("/api/traffic?limit=1")).entries.at(-1)?.seq ?? 0;
    const run = await sendJson("POST", "/api/lab/runs", body);
    const browserRace = run.mode === "browser" ? await raceInBrowser(run, since, showLive) : null;
    const started = Date.now();
    const total = (run.duration_s + 1.5) * 1000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const pct = Math.min(99, Math.round(((Date.now() - started) / total) * 100));
      bar.setAttribute("aria-valuenow", String(pct));
      bar.querySelector("span").style.width = `${pct}%`;
      status.textContent = `Race #${run.id} running… ${Math.round((Date.now() - started) / 1000)} s`;
      let now = await getJson(`/api/lab/runs/${run.id}`);
      if (now.status === "done") {
        if (browserRace) {
          // Let the last events reach every lane, then report what they saw.
          await new Promise((r) => setTimeout(r, run.poll_interval_ms + 500));
          browserRace.finish();
          await new Promise((r) => setTimeout(r, 300));
          const log = await getJson(`/api/traffic?since=${logStart}&limit=10000`);
          const lanes = summarize(browserRace.lanes, now.published, log.entries);
          now = await sendJson("POST", `/api/lab/runs/${run.id}/report`, lanes);
        }
        bar.querySelector("span").style.width = "100%";
        bar.setAttribute("aria-valuenow", "100");
        status.textContent = `Race #${run.id} done.`;
        renderResult(now);
        break;
      }
    }
  } catch (err) {
    status.textContent = err.message;
  } finally {
    $("race-start").disabled = false;
  }
});

initFaults({
  form: $("faults"), status: $("faults-status"), reset: $("faults-reset"),
  dropSse: $("drop-sse"), dropWs: $("drop-ws"),
  deploy: $("deploy"), halfOpen: $("half-open"), actionsStatus: $("actions-status"),
});
initStorm($("storm"), $("storm-status"), $("storm-runs"));
initChallenges($("challenges"));
initSix($("six"), $("six-open"), $("six-close"));
$("chat-start").addEventListener("click", (ev) => {
  ev.currentTarget.disabled = true;
  // The button says it opens one stream and one socket: both sides, at once.
  const chat = mountChat($("chat"));
  chat.clients.sse.start();
  chat.clients.ws.start();
  initChatCost($("chat-cost"));
});

initLoadLab($("load"), $("load-status"), $("load-result"));
// On demand: the diagram holds a connection (the six-connection demo counts on six free ones).
let sequence = null;
$("sequence-start").addEventListener("click", (ev) => {
  const toggle = ev.currentTarget;
  if (sequence) {
    sequence.stop();
    sequence = null;
    $("sequence").replaceChildren();
  } else {
    sequence = mountSequence($("sequence"));
  }
  toggle.textContent = sequence ? "Stop drawing" : "Draw my traffic";
  toggle.setAttribute("aria-pressed", String(Boolean(sequence)));
});

armControls();
