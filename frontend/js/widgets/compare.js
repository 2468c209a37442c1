import { bytes, millis } from "../format.js";
import { el } from "./kit.js";

// The seed's table, with the learner's own measurements beside each claim.
const ROWS = [
  ["Connection", ["Many requests", "One long connection", "Persistent upgraded connection"],
    (s) => s.poll.requests ? `${s.poll.requests} requests` : "—",
    (s) => s.sse.connections ? `${s.sse.connections} stream(s) opened` : "—",
    (s) => s.websocket.connections ? `${s.websocket.connections} socket(s) opened` : "—"],
  ["Direction", ["Request / response", "Server → client", "Two-way"],
    (s) => `${s.poll.requests} asked, ${s.poll.events_delivered} events back`,
    (s) => `${s.sse.events_delivered} events pushed, 0 sent up`,
    (s) => `${s.websocket.events_delivered} events pushed`],
  ["Efficiency", ["Low", "High", "Very high"],
    (s) => perEvent(s.poll) + (s.poll.requests ? `, ${Math.round(s.poll.empty_share * 100)} % empty` : ""),
    (s) => perEvent(s.sse),
    (s) => perEvent(s.websocket)],
  ["Delay (median)", ["up to the interval", "as it happens", "as it happens"],
    (s) => delay(s.poll), (s) => delay(s.sse), (s) => delay(s.websocket)],
];

function perEvent(t) {
  return t.bytes_per_event ? `${bytes(Math.round(t.bytes_per_event))} per update` : "no updates yet";
}
function delay(t) {
  return t.delay_p50_ms === null || t.delay_p50_ms === undefined ? "—" : millis(t.delay_p50_ms);
}

export function mount(root, ctx) {
  const table = el("table", { class: "compare" });
  const note = el("p", { class: "muted small", "aria-live": "polite" });
  root.append(table, note);
  const refresh = async () => {
    const res = await fetch("/api/traffic/stats?window=900");
    const stats = await res.json();
    const by = Object.fromEntries(stats.transports.map((t) => [t.transport, t]));
    const head = el("tr", {}, el("th", { text: "Feature" }), el("th", { text: "Polling" }), el("th", { text: "SSE" }), el("th", { text: "WebSockets" }));
    const body = ROWS.map(([name, claims, ...measure]) => el("tr", {},
      el("th", { scope: "row", text: name }),
      ...claims.map((claim, i) => el("td", {},
        el("span", { class: "claim", text: claim }),
        el("span", { class: "measured", text: measure[i](by) })))));
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
    note.textContent = "Measured from your own traffic in the last 15 minutes. Run each client for a while to fill the table.";
  };
  refresh();
  const timer = setInterval(refresh, 3000);
  return { stop: () => clearInterval(timer) };
}
