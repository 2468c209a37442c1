// The load lab: start a bounded load test (POST /api/lab/load), wait for it,
// then show what each kind of connection cost the server — memory per
// connection, delay from publish to arrival, requests — as bars and a table.

import { getJson, sendJson } from "./api.js";
import { el } from "./dom.js";
import { millis } from "./format.js";

const KINDS = {
  sse: ["SSE", "t-sse"],
  websocket: ["WebSocket", "t-websocket"],
  "long-poll": ["Long-polling", "t-long_poll"],
  poll: ["Polling", "t-poll"],
};

const kib = (v) => (v == null ? "–" : `${v.toFixed(1)} KiB`);
const ms = (v) => (v == null ? "–" : millis(v));

function bars(title, unit, rows) {
  const max = Math.max(...rows.map((r) => r.value ?? 0), 1e-9);
  return el("figure", { class: "load-bars" },
    el("figcaption", { text: `${title} (${unit})` }),
    ...rows.map((r) => {
      const fill = el("span", { class: "fill" });
      fill.style.width = `${((r.value ?? 0) / max) * 100}%`; // CSSOM, allowed by the strict CSP
      return el("div", { class: `bar-row ${KINDS[r.kind][1]}` },
        el("span", { text: KINDS[r.kind][0] }),
        el("span", { class: "bar", role: "img", "aria-label": `${KINDS[r.kind][0]}: ${r.label}` }, fill),
        el("span", { class: "bar-value", text: r.label }));
    }));
}

function sentence(report) {
  const parts = report.connect
    .filter((s) => s.kib_per_connection != null && s.connected > 0 && s.kind !== "poll")
    .map((s) => `${s.connected} ${KINDS[s.kind][0]} connections cost the server `
      + `${(s.kib_per_connection * s.connected / 1024).toFixed(1)} MiB (${kib(s.kib_per_connection)} each)`);
  const cpu = report.cpu?.server_percent;
  const cpuText = cpu == null ? "" : ` Serving them took ${cpu.toFixed(0)} % of one CPU core.`;
  return `${parts.join("; ")}.${cpuText}`;
}

export function render(out, run) {
  const report = run.report;
  const byKind = Object.fromEntries(report.transports.map((t) => [t.kind, t]));
  const stages = report.connect.filter((s) => s.connected > 0);
  const table = el("table", { class: "compare load-table" },
    el("thead", {}, el("tr", {},
      ...["Clients", "Connected in", "Server memory per connection", "Delay p50 / p99 / max",
        "Requests /s", "Empty answers"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...stages.map((s) => {
      const t = byKind[s.kind] ?? {};
      const d = t.delay ?? {};
      return el("tr", { class: KINDS[s.kind][1] },
        el("th", { scope: "row", text: `${s.connected} ${KINDS[s.kind][0]}` }),
        el("td", { text: `${ms(s.total_secs * 1000)} (p99 ${ms(s.p99_ms)} each)` }),
        el("td", { text: s.kind === "poll" ? "none held" : kib(s.kib_per_connection) }),
        el("td", { text: `${ms(d.p50_ms)} / ${ms(d.p99_ms)} / ${ms(d.max_ms)}` }),
        el("td", { text: t.requests ? `${t.requests_per_sec} req/s` : "–" }),
        el("td", { text: t.empty_share == null ? "–" : `${Math.round(t.empty_share * 100)} %` }));
    })));
  const held = stages.filter((s) => s.kind !== "poll");
  out.replaceChildren(
    el("p", { class: "load-sentence", text: sentence(report) }),
    el("div", { class: "load-charts" },
      bars("Server memory per connection", "KiB", held.map((s) => ({
        kind: s.kind, value: s.kib_per_connection, label: kib(s.kib_per_connection) }))),
      bars("Delay from publish to arrival, p99", "ms", stages.map((s) => ({
        kind: s.kind, value: byKind[s.kind]?.delay?.p99_ms, label: ms(byKind[s.kind]?.delay?.p99_ms) })))),
    table,
    el("p", { class: "muted small", text:
      `CPU during the ${report.window_secs.toFixed(0)} s window: server ${report.cpu?.server_percent ?? "–"} % of one core, `
      + `load generator ${report.cpu?.generator_percent ?? "–"} %, whole machine ${report.cpu?.machine_busy_percent ?? "–"} % busy. `
      + `${report.published} events published, ${report.deliveries} deliveries, ${report.errors_total} errors.` }));
}

export function initLoadLab(form, status, out) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, Number(v)]));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      let run = await sendJson("POST", "/api/lab/load", data);
      const started = Date.now();
      while (run.status === "running") {
        status.textContent = `Load test #${run.id} running: connecting clients, then ${data.duration_s} s of load… `
          + `(${Math.round((Date.now() - started) / 1000)} s so far)`;
        await new Promise((r) => setTimeout(r, 1000));
        run = await getJson(`/api/lab/load/${run.id}`);
      }
      if (run.status === "failed") throw new Error(run.error);
      status.textContent = `Load test #${run.id} done.`;
      render(out, run);
    } catch (err) {
      status.textContent = `The load test did not run: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
}
