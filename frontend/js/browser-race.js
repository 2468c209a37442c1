// Browser mode of the race: this page's own clients — fetch polling,
// fetch long-polling, an EventSource and a WebSocket — receive the run's
// events; what they saw, plus the bytes the traffic log measured for them,
// becomes the lane report.

const LANES = ["poll", "long_poll", "sse", "websocket"];

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
  const stop = new AbortController();
  const topic = encodeURIComponent(run.topic);

  // Short polling every poll_interval_ms.
  (async () => {
    let cursor = since;
    while (!stop.signal.aborted) {
      try {
        const res = await fetch(`/api/poll?since=${cursor}&topics=${topic}`, { signal: stop.signal });
        if (res.status === 200) {
          const batch = await res.json();
          batch.events.forEach((e) => record(lanes.poll, e));
          cursor = batch.last_id;
        } else {
          cursor = Number(res.headers.get("X-Last-Event-Id") ?? cursor);
        }
      } catch (err) {
        if (!stop.signal.aborted) lanes.poll.errors.push(err.message);
      }
      await new Promise((r) => setTimeout(r, run.poll_interval_ms));
    }
  })();

  // Long-polling: ask again right after every answer.
  (async () => {
    let cursor = since;
    while (!stop.signal.aborted) {
      try {
        const res = await fetch(`/api/long-poll?since=${cursor}&topics=${topic}&timeout=5`, { signal: stop.signal });
        if (res.status === 200) {
          const batch = await res.json();
          batch.events.forEach((e) => record(lanes.long_poll, e));
          cursor = batch.last_id;
        } else {
          cursor = Number(res.headers.get("X-Last-Event-Id") ?? cursor);
        }
      } catch (err) {
        if (!stop.signal.aborted) lanes.long_poll.errors.push(err.message);
      }
    }
  })();

  const source = new EventSource(`/api/sse?topics=${topic}&last_event_id=${since}`);
  source.addEventListener("race", (m) => record(lanes.sse, JSON.parse(m.data)));

  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/ws`);
  ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", topics: [run.topic], since }));
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "event") record(lanes.websocket, msg.event);
  };

  const ticker = setInterval(() => onUpdate(lanes), 250);
  return {
    lanes,
    finish() {
      clearInterval(ticker);
      stop.abort();
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
    };
  });
}
