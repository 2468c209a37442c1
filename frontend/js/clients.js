// Minimal clients for the four transports, each with start() / stop() and
// an onStatus callback. The traffic log shows what they do on the wire.
//
// Every start begins from "now", as EventSource and a fresh WebSocket do: the
// polling clients ask for no backlog, so their first answers are the empty
// ones. An answer that follows one with `more: true` brings events that were
// already waiting when the client last asked: that is catch-up, not news
// that waited, and the status line says so.
// start({ actor: "play" }) marks the traffic as play mode's ("show me"):
// lessons count it as watched, never as the learner's own.

const older = (n) => `caught up on ${n} older event${n === 1 ? "" : "s"}`;

/** The URL with `actor=play` added when play mode acts. */
export function withActor(url, actor) {
  if (actor !== "play") return url;
  return `${url}${url.includes("?") ? "&" : "?"}actor=play`;
}

/** Reads an answer's cursor and batch; `null` batch for 204. Throws on errors. */
async function readAnswer(res) {
  if (!res.ok) throw new Error(`the server answered ${res.status}`);
  const header = res.headers.get("X-Last-Event-Id");
  const batch = res.status === 200 ? await res.json() : null;
  const since = batch ? batch.last_id : header === null ? null : Number(header);
  return { since, batch };
}

export class PollingClient {
  constructor({ intervalMs = 1000, onStatus = () => {} } = {}) {
    this.intervalMs = intervalMs;
    this.onStatus = onStatus;
    this.since = null;
    this.behind = false;
    this.timer = null;
    this.actor = "learner";
  }
  get running() { return this.timer !== null; }
  async once() {
    // Without a cursor yet: "from=newest" answers 204 with the newest id, no backlog.
    const url = this.since === null ? "/api/poll?from=newest" : `/api/poll?since=${this.since}`;
    const catchingUp = this.behind;
    const { since, batch } = await readAnswer(await fetch(withActor(url, this.actor)));
    this.since = since ?? this.since;
    this.behind = batch?.more === true;
    if (batch) {
      const n = batch.events.length;
      this.onStatus(catchingUp ? `${older(n)}, now at #${this.since}` : `got ${n} event(s), now at #${this.since}`);
    } else {
      this.onStatus(`no news (204), still at #${this.since}`);
    }
  }
  start({ actor = "learner" } = {}) {
    if (this.running) return;
    this.actor = actor;
    this.since = null;
    this.behind = false;
    const tick = async () => {
      try { await this.once(); } catch (err) { this.onStatus(`error: ${err.message}`); }
      if (this.timer !== null) this.timer = setTimeout(tick, this.intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }
  stop() { clearTimeout(this.timer); this.timer = null; }
}

export class LongPollingClient {
  // timeoutS null: let the server pick (25 s unless it was started otherwise).
  constructor({ timeoutS = null, onStatus = () => {} } = {}) {
    this.timeoutS = timeoutS;
    this.onStatus = onStatus;
    this.since = null;
    this.controller = null;
  }
  get running() { return this.controller !== null; }
  async start({ actor = "learner" } = {}) {
    if (this.running) return;
    this.actor = actor;
    this.controller = new AbortController();
    const { signal } = this.controller;
    // Without `since` the first request waits for the next new event: no backlog.
    this.since = null;
    let behind = false;
    while (!signal.aborted) {
      const params = new URLSearchParams();
      if (this.timeoutS !== null) params.set("timeout", this.timeoutS);
      if (this.since !== null) params.set("since", this.since);
      try {
        this.onStatus("waiting for news…");
        if (this.actor === "play") params.set("actor", "play");
        const { since, batch } = await readAnswer(await fetch(`/api/long-poll?${params}`, { signal }));
        this.since = since ?? this.since;
        if (batch) {
          const n = batch.events.length;
          this.onStatus(behind ? `${older(n)}, asking again` : `got ${n} event(s), asking again`);
        }
        behind = batch?.more === true;
      } catch (err) {
        if (signal.aborted) break;
        this.onStatus(`error: ${err.message}; retrying in 2 s`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }
  stop() { this.controller?.abort(); this.controller = null; this.onStatus("stopped"); }
}

export class SseClient {
  constructor({ onStatus = () => {}, onEvent = () => {} } = {}) {
    this.onStatus = onStatus;
    this.onEvent = onEvent;
    this.source = null;
    this.count = 0;
  }
  get running() { return this.source !== null; }
  start({ actor = "learner" } = {}) {
    if (this.running) return;
    this.source = new EventSource(withActor("/api/sse", actor));
    this.source.onopen = () => this.onStatus("stream open");
    const source = this.source;
    // A dropped connection is retried by the browser; an answer that is not a
    // 200 event stream (a 502, a 401) closes the EventSource for good.
    source.onerror = () => this.onStatus(source.readyState === EventSource.CLOSED
      ? "closed for good: the answer was not a 200 event stream"
      : "connection lost; the browser retries by itself…");
    const handle = (m) => {
      this.count += 1;
      this.onStatus(`${this.count} event(s) received, last #${m.lastEventId}`);
      this.onEvent(JSON.parse(m.data));
    };
    this.source.onmessage = handle;
    for (const type of ["price", "notification", "note", "greeting", "test"]) {
      this.source.addEventListener(type, handle);
    }
  }
  stop() { this.source?.close(); this.source = null; this.onStatus("closed"); }
}

export class WebSocketClient {
  constructor({ onStatus = () => {}, onMessage = () => {} } = {}) {
    this.onStatus = onStatus;
    this.onMessage = onMessage;
    this.socket = null;
  }
  get running() { return this.socket !== null; }
  start({ actor = "learner" } = {}) {
    if (this.running) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(withActor(`${scheme}://${location.host}/api/ws`, actor));
    this.socket = socket;
    this.opened = new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "subscribe" }));
      this.onStatus("connected and subscribed");
    };
    socket.onmessage = (m) => this.onMessage(JSON.parse(m.data));
    socket.onclose = (c) => {
      this.onStatus(`closed (${c.code}${c.reason ? `: ${c.reason}` : ""})`);
      if (this.socket === socket) this.socket = null;
    };
  }
  /** Resolves once the socket is open. */
  ready() { return this.opened ?? Promise.resolve(); }
  send(message) { this.socket?.send(typeof message === "string" ? message : JSON.stringify(message)); }
  stop() { this.socket?.close(1000, "done"); this.socket = null; }
}
