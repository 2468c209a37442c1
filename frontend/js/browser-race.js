// Browser mode of the race: this page's own clients — the same clients/
// files every lesson shows and runs (fetch polling, fetch long-polling, an
// EventSource and a WebSocket) — receive the run's events from the id the
// race started at; what they saw, plus the bytes the traffic log measured
// for them, becomes the lane report.

import { createLongPoller } from "./clients/long-poll.js";
import { createPoller } from "./clients/poll.js";
import { openStream } from "./clients/sse.js";
import { connect } from "./clients/ws.js";

const LANES = ["poll", "long_poll", "sse", "websocket"];
/** The server's hold for each long-poll, in seconds. */
const LONG_POLL_TIMEOUT_S = 5;

function lane() {
  return { received: [], delays: [], errors: [] };
}

function record(l, event) {
  const seq = event?.data?.seq;
  if (typeof seq !== "number") return;
  l.received.push(seq);
  l.delays.push(Math.max(0, Date.now() - event.published_at_ms));
}

export async function raceInBrowser(run, since, onUpdate) {
  const lanes = Object.fromEntries(LANES.map((n) => [n, lane()]));
  const query = `topics=${encodeURIComponent(run.topic)}`;
  const onAnswer = (l) => (a) => {
    if (a.error) l.errors.push(a.error);
    else a.events?.forEach((e) => record(l, e));
  };

  const poller = createPoller({ since, everyMs: run.poll_interval_ms, query, onAnswer: onAnswer(lanes.poll) });
  const longPoller = createLongPoller({ since, timeoutS: LONG_POLL_TIMEOUT_S, query, onAnswer: onAnswer(lanes.long_poll) });
  poller.start();
  longPoller.start();
  const source = openStream({
    types: ["race"], since, query, onStatus: () => {},
    onEvent: (event) => record(lanes.sse, event),
  });
  const ws = connect({
    topics: [run.topic], since, onOpen: () => {}, onClose: () => {},
    onMessage: (msg) => { if (msg.type === "event") record(lanes.websocket, msg.event); },
  });

  const ticker = setInterval(() => onUpdate(lanes), 250);
  return {
    lanes,
    finish() {
      clearInterval(ticker);
      poller.stop();
      longPoller.stop();
      source.close();
      ws.close(1000, "race over");
      onUpdate(lanes);
    },
  };
}

/** Lane reports: what the clients saw plus what the traffic log measured. */
export function summarize(lanes, published, entries) {
  return LANES.map((name) => {
    const l = lanes[name];
    const unique = new Set(l.received);
    const mine = entries.filter((e) => e.transport === name && e.kind !== "closed");
    const sum = (f) => mine.reduce((a, e) => a + (f(e) ?? 0), 0);
    const requests = mine.filter((e) => e.kind === "exchange").length;
    const empty = mine.filter((e) => e.empty === true).length;
    const bytesUp = sum((e) => e.bytes_up);
    const bytesDown = sum((e) => e.bytes_down);
    const payload = sum((e) => e.body_bytes);
    const delays = [...l.delays].sort((a, b) => a - b);
    const pick = (p) => (delays.length ? delays[Math.min(delays.length, Math.max(1, Math.ceil(p * delays.length))) - 1] : null);
    return {
      transport: name,
      requests,
      connections: mine.filter((e) => e.kind === "opened").length,
      empty,
      empty_share: requests ? empty / requests : 0,
      received: l.received.length,
      lost: Math.max(0, published - unique.size),
      duplicated: l.received.length - unique.size,
      bytes_up: bytesUp,
      bytes_down: bytesDown,
      header_bytes: Math.max(0, bytesUp + bytesDown - payload),
      payload_bytes: payload,
      delay_p50_ms: pick(0.5),
      delay_p95_ms: pick(0.95),
      delay_max_ms: delays.length ? delays[delays.length - 1] : null,
      errors: l.errors.slice(0, 5),
      protocol: mine.find((e) => e.kind === "exchange" || e.kind === "opened")?.protocol ?? null,
    };
  });
}
