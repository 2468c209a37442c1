// HTTP/1.1 next to HTTP/2, on this server's two HTTPS ports (`--tls
// --http1-port`): ten SSE streams over each (over HTTP/1.1 the browser holds
// at most six connections to one origin, so the rest wait), and fifty polls
// over each (HTTP/2 compresses the headers it has sent before).
//
// The page reaches both ports under its own host name, so the learner's
// cookie (and the certificate exception) go with every request.

import { getJson, pageJson } from "../api.js";
import { actorQuery } from "../clients.js";
import { openStream, STREAM } from "../clients/sse.js";
import { bytes } from "../format.js";
import { button, el, status } from "./kit.js";

const STREAMS = 10;
const POLLS = 50;

/** The page's own protocol, as the browser reports it (`h2`, `http/1.1`). */
function pageProtocol() {
  return performance.getEntriesByType("navigation")[0]?.nextHopProtocol || "unknown";
}

const LABEL = { h2: "HTTP/2", h1: "HTTP/1.1" };

export function mount(root) {
  const note = el("p", { class: "muted", text: "Asking the server which ports it serves…" });
  const clients = {};
  const rows = {};
  for (const p of ["h2", "h1"]) {
    rows[p] = el("ol", { class: "six", "aria-label": `Ten SSE streams over ${LABEL[p]}` });
  }
  const pollState = { h2: status("not polled yet"), h1: status("not polled yet") };
  root.append(note);
  pageJson("/api/status").then((s) => {
    if (!s.tls?.http1) {
      const here = `https://${location.hostname}:${location.port || 8080}${location.pathname}`;
      note.textContent = "This server speaks one protocol only. Restart it with --tls --http1-port 8444 "
        + `(cargo run --release -- --tls --http1-port 8444), open ${here}, accept the certificate `
        + "once, and this step compares HTTP/1.1 with HTTP/2 on your machine.";
      note.classList.remove("muted");
      note.classList.add("notice");
      return;
    }
    const base = { h2: origin(s.tls.http2), h1: origin(s.tls.http1) };
    note.textContent = `This page came over ${pageProtocol()}. HTTP/2 is port ${s.tls.http2}; `
      + `HTTP/1.1 only is port ${s.tls.http1}.`;
    for (const p of ["h2", "h1"]) {
      const streams = streamsOver(base[p], rows[p]);
      const polls = pollsOver(base[p], pollState[p], p === "h2" ? "h2" : "http/1.1");
      streams.toggle.dataset.client = `streams-${p}`;
      polls.toggle.dataset.client = `polls-${p}`;
      clients[`streams-${p}`] = streams;
      clients[`polls-${p}`] = polls;
      root.append(el("section", { class: "http2-side" },
        el("h3", { text: `Over ${LABEL[p]}` }),
        el("div", { class: "widget-controls" }, streams.toggle, polls.toggle),
        rows[p], pollState[p]));
    }
  }).catch((e) => { note.textContent = `Could not read the server's status: ${e.message}`; });
  const stopAll = () => Object.values(clients).forEach((c) => c.stop());
  return { clients, stop: stopAll, stopClients: stopAll, get running() { return Object.values(clients).some((c) => c.running); } };
}

/** This page's host name on another port: same cookie, same certificate. */
function origin(port) {
  return `https://${location.hostname}:${port}`;
}

/** Ten EventSources to `base`, each tile showing when it opened and what it got. */
function streamsOver(base, list) {
  let sources = [];
  const toggle = button("", () => (sources.length ? stop() : start()));
  const label = () => {
    toggle.textContent = sources.length ? "Close the ten streams" : `Open ${STREAMS} SSE streams`;
    toggle.setAttribute("aria-pressed", String(sources.length > 0));
  };
  const start = ({ actor = "learner" } = {}) => {
    stop();
    list.replaceChildren();
    for (let i = 1; i <= STREAMS; i++) {
      const state = el("span", { class: "six-state", text: "waiting for a connection…" });
      const li = el("li", { "data-state": "waiting" }, el("span", { text: `Stream ${i}: ` }), state);
      list.append(li);
      const started = performance.now();
      let events = 0;
      const source = openStream({
        base,
        query: [actorQuery(actor), "topics=ticker"].filter(Boolean).join("&"),
        onEvent: () => {
          events += 1;
          li.dataset.state = "open";
          state.textContent = `${events} event${events === 1 ? "" : "s"}`;
        },
        onStatus: (what) => {
          if (what === STREAM.open) {
            li.dataset.state = "open";
            state.textContent = `open after ${Math.round(performance.now() - started)} ms`;
          } else if (what === STREAM.closedForGood) state.textContent = "refused";
        },
      });
      sources.push(source);
    }
    label();
  };
  const stop = () => {
    for (const s of sources) s.close();
    for (const li of list.children) if (li.dataset.state === "waiting") li.dataset.state = "closed";
    sources = [];
    label();
  };
  label();
  return { toggle, start, stop, get running() { return sources.length > 0; } };
}

/**
 * A topic no feed publishes to: every poll comes back empty, so the bytes
 * compared are what a poll costs by itself, whether or not a feed runs.
 */
const QUIET_TOPIC = "http2-lesson";

/** Fifty short polls to `base`, one after the other, and their bytes as the log measured them. */
function pollsOver(base, line, protocol) {
  let running = false;
  const toggle = button(`Poll ${POLLS} times`, () => (running ? stop() : start()), "ghost");
  const start = async ({ actor = "learner" } = {}) => {
    if (running) return;
    running = true;
    toggle.setAttribute("aria-pressed", "true");
    toggle.textContent = "Stop polling";
    let done = 0;
    for (; done < POLLS && running; done++) {
      await getJson(`${base}/api/poll?topics=${QUIET_TOPIC}`, { actor, credentials: "include" }).catch(() => null);
      line.textContent = `${done + 1} of ${POLLS} polls sent`;
    }
    running = false;
    toggle.setAttribute("aria-pressed", "false");
    toggle.textContent = `Poll ${POLLS} times`;
    const log = await pageJson("/api/traffic?limit=200").catch(() => null);
    const polls = (log?.entries ?? []).filter((e) => e.transport === "poll" && e.protocol === protocol);
    if (polls.length) {
      const last = polls.at(-1);
      line.textContent = `${done} polls; the last one took ${bytes(last.bytes_up + last.bytes_down)} on the wire, `
        + `${bytes(last.header_bytes ?? 0)} of it headers`;
    }
  };
  const stop = () => { running = false; };
  return { toggle, start, stop, get running() { return running; } };
}
