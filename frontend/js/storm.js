// The reconnect storm: start one (POST /api/lab/storm), wait for its
// timeline, and chart the newest two side by side on one scale, so a fixed
// retry's wave and back-off's trickle can be compared at a glance.

import { getJson, sendJson } from "./api.js";
import { el } from "./dom.js";
import { millis } from "./format.js";

const STRATEGIES = { fixed: "fixed retry", backoff_jitter: "back-off with jitter" };
const TRANSPORTS = { sse: "SSE", websocket: "WebSocket" };

const ms = (v) => (v == null ? "–" : millis(v));
const seconds = (msValue) => `${(msValue / 1000).toFixed(1)} s`;

export function summary(run) {
  if (run.reconnected === 0) return `None of the ${run.clients} clients came back. ${run.errors.join("; ")}`;
  return `Peak: ${run.peak} reconnects in one ${run.bucket_ms} ms bucket (at ${seconds(run.peak_at_ms)}). `
    + `${run.reconnected} of ${run.clients} clients back; time to reconnect p50 ${ms(run.p50_ms)}, `
    + `p99 ${ms(run.p99_ms)}, max ${ms(run.max_ms)}; ${run.attempts} attempts.`;
}

/** One run's histogram; `scale` is shared with the run beside it. */
function chart(run, scale) {
  const columns = Array.from({ length: scale.buckets }, (_, i) => {
    const column = el("span", { class: "storm-col" });
    column.style.height = `${((run.buckets[i] ?? 0) / scale.peak) * 100}%`; // CSSOM, allowed by the strict CSP
    return column;
  });
  const text = summary(run);
  const span = scale.buckets * run.bucket_ms;
  return el("figure", { class: `storm-run t-${run.transport}` },
    el("figcaption", {},
      el("strong", { text: `#${run.id}: ${STRATEGIES[run.strategy]}, ${run.retry_ms} ms` }),
      el("span", { class: "muted small", text: `${run.clients} ${TRANSPORTS[run.transport]} clients; reconnects per ${run.bucket_ms} ms after the drop` })),
    el("div", { class: "storm-plot" },
      el("span", { class: "storm-y small muted", text: `${scale.peak}` }),
      el("div", { class: "storm-bars", role: "img", "aria-label": `Histogram of reconnects over ${seconds(span)} after the drop. ${text}` }, ...columns)),
    el("div", { class: "storm-x small muted", "aria-hidden": "true" },
      el("span", { text: "0 s" }), el("span", { text: seconds(span / 2) }), el("span", { text: seconds(span) })),
    el("p", { class: "small storm-summary", text }));
}

export function render(out, runs) {
  const scale = {
    peak: Math.max(1, ...runs.map((r) => r.peak)),
    buckets: Math.max(10, ...runs.map((r) => r.buckets.length)),
  };
  out.replaceChildren(...runs.map((run) => chart(run, scale)));
}

/**
 * Starts a storm and waits for it; `onProgress(run, seconds)` while it runs.
 * `actor` "play" marks it as play mode's. Resolves to the finished run.
 */
export async function runStorm(body, { actor = "learner", onProgress = () => {} } = {}) {
  let run = await sendJson("POST", "/api/lab/storm", body, { actor });
  const started = Date.now();
  while (run.status === "running") {
    onProgress(run, Math.round((Date.now() - started) / 1000));
    await new Promise((r) => setTimeout(r, 400));
    run = await getJson(`/api/lab/storm/${run.id}`);
  }
  if (run.status === "failed") throw new Error(run.errors.join("; ") || "no client could connect");
  return run;
}

export function initStorm(form, status, out) {
  const shown = [];
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const body = {
      clients: Number(data.get("clients")),
      strategy: data.get("strategy"),
      transport: data.get("transport"),
      retry_ms: Number(data.get("retry_ms")),
    };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const run = await runStorm(body, {
        onProgress: (r, s) => {
          status.textContent = `Storm #${r.id}: connecting ${r.clients} clients, dropping them, waiting for them to come back… (${s} s)`;
        },
      });
      status.textContent = `Storm #${run.id} done: ${summary(run)}`;
      shown.push(run);
      if (shown.length > 2) shown.shift();
      render(out, shown);
    } catch (err) {
      status.textContent = `The storm did not run: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
}
