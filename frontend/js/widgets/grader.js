// "Grade my server": the playground connects to a server as a client and
// answers with a report card (POST /api/grader/runs). Nothing runs on mount:
// a run starts only when the learner presses Grade (or "show me" does).
//
// The card is a list, one item per rule: its verdict in words (not only
// colour), what the grader measured, why the rule matters, and what was sent
// and what came back behind a disclosure. The card area keeps its
// height while a new run grades, so nothing below it jumps.

import { ProblemError, sendJson } from "../api.js";
import { button, el } from "./kit.js";

const here = () => `${location.protocol}//${location.host}`;
const wsHere = () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;

/** Quick fills: this playground, and where the lesson's servers listen by default. */
const PRESETS = [
  ["This playground", () => `${here()}/api/sse`, "sse"],
  ["Heartbeats off", () => `${here()}/api/sse?heartbeat=0`, "sse"],
  ["Python :8000", () => "http://127.0.0.1:8000/sse", "sse"],
  ["Node :3000", () => "http://127.0.0.1:3000/sse", "sse"],
  ["Rust :4000", () => "http://127.0.0.1:4000/sse", "sse"],
  ["WebSocket /api/ws", () => `${wsHere()}/api/ws`, "websocket"],
];

const VERDICTS = {
  pass: ["✓", "Pass"],
  fail: ["✗", "Fail"],
  skipped: ["–", "Skipped"],
  info: ["i", "Info"],
};

function kib(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export function mount(root, ctx) {
  const url = el("input", { type: "url", id: "grader-url", class: "grow", value: PRESETS[0][1](), spellcheck: "false", autocomplete: "off" });
  const kind = el("select", { id: "grader-kind" },
    el("option", { value: "sse", text: "Server-Sent Events (http://…)" }),
    el("option", { value: "websocket", text: "WebSocket (ws://…)" }));
  const grade = el("button", { type: "submit", text: "Grade" });
  grade.dataset.action = "grade";
  const form = el("form", { class: "grader-form" },
    el("div", { class: "grader-field" }, el("label", { for: "grader-url", text: "Server URL" }), url),
    el("div", { class: "grader-field" }, el("label", { for: "grader-kind", text: "Kind" }), kind),
    grade);
  const presets = el("div", { class: "grader-presets", role: "group", "aria-label": "Fill in a URL" },
    el("span", { class: "small muted", text: "Fill in:" }),
    ...PRESETS.map(([label, make, k]) => button(label, () => fill(make(), k), "ghost small")));
  const status = el("p", { class: "widget-status small muted", role: "status", text: "Nothing graded yet: fill in a URL and press Grade." });
  const card = el("div", { class: "grader-card", "aria-live": "off" });

  let running = null;
  let queued = null;
  let ticker = null;
  const fill = (u, k) => { url.value = u; kind.value = k; };

  function render(report) {
    const items = report.lines.map((l) => {
      const [mark, word] = VERDICTS[l.verdict] ?? ["?", l.verdict];
      const exchange = (l.sent || l.received)
        ? el("details", { class: "grader-exchange" },
          el("summary", { class: "small", text: "What was sent and what came back" }),
          l.sent ? el("p", { class: "small muted", text: "Sent:" }) : null,
          l.sent ? el("pre", { class: "code" }, el("code", { text: l.sent })) : null,
          l.received ? el("p", { class: "small muted", text: "Came back:" }) : null,
          l.received ? el("pre", { class: "code" }, el("code", { text: l.received })) : null)
        : null;
      return el("li", { "data-line": l.id, "data-verdict": l.verdict },
        el("p", { class: "grader-head" },
          el("span", { class: `grader-verdict ${l.verdict}` }, el("span", { "aria-hidden": "true", text: `${mark} ` }), word),
          el("strong", { text: l.title }),
          el("code", { class: "small", text: l.id })),
        el("p", { text: l.detail }),
        el("p", { class: "small muted", text: `Why it matters: ${l.why}` }),
        exchange);
    });
    const summary = `${report.all_pass ? "All pass" : "Not yet"}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped, ${report.info} info. ` +
      `${(report.duration_ms / 1000).toFixed(1)} s, ${report.connections} connections, ${kib(report.bytes_read)} read from ${report.address}.`;
    card.dataset.allPass = String(report.all_pass);
    card.replaceChildren(
      el("h4", { class: "grader-summary small", id: "grader-summary", text: summary }),
      el("ol", { class: "grader-lines", "aria-labelledby": "grader-summary" }, ...items));
  }

  /** Grades now, or right after the run in progress (one run waits at most:
   * the server takes one run per learner at a time). */
  function run(opts = {}) {
    if (!running) return once(opts);
    queued ??= running.then(() => { queued = null; return once(opts); });
    return queued;
  }

  async function once({ actor = "learner" } = {}) {
    const started = Date.now();
    grade.setAttribute("aria-busy", "true");
    card.setAttribute("aria-busy", "true");
    const tick = () => { status.textContent = `Grading ${url.value}: ${Math.round((Date.now() - started) / 1000)} s of at most 20 s (the heartbeat line waits for the server to go quiet).`; };
    tick();
    ticker = setInterval(tick, 1000);
    running = (async () => {
      try {
        const body = await sendJson("POST", "/api/grader/runs", { url: url.value.trim(), kind: kind.value }, { actor });
        render(body);
        status.textContent = body.all_pass
          ? `All pass: ${body.passed} lines passed${body.info ? `, ${body.info} for information` : ""}.`
          : `Not yet: ${body.failed} failed, ${body.skipped} skipped. The card says which and why.`;
        ctx.refreshProgress?.();
      } catch (err) {
        status.textContent = err instanceof ProblemError
          ? `Not graded (${err.status}): ${err.problem?.detail ?? "the grader refused."}`
          : `Not graded: ${err.message}`;
      } finally {
        clearInterval(ticker);
        grade.removeAttribute("aria-busy");
        card.removeAttribute("aria-busy");
        running = null;
      }
    })();
    return running;
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  root.append(form, presets, status, card);

  return {
    /** Play mode presses a control by its label, as play's; Grade waits for the card. */
    async press(label, { actor = "learner" } = {}) {
      const preset = PRESETS.find(([l]) => l === label);
      if (preset) return fill(preset[1](), preset[2]);
      if (label === "Grade") return run({ actor });
      throw new Error(`the grader has no control "${label}"`);
    },
    stop() { clearInterval(ticker); },
  };
}
