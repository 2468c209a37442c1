// Minimal clients for the four transports, each with start() / stop() and
// an onStatus callback. The traffic log shows what they do on the wire.
// start({ actor: "play" }) marks the traffic as play mode's ("show me"):
// lessons count it as watched, never as the learner's own.

/** The URL with `actor=play` added when play mode acts. */
export function withActor(url, actor) {
  if (actor !== "play") return url;
  return `${url}${url.includes("?") ? "&" : "?"}actor=play`;
}

export class PollingClient {
  constructor({ intervalMs = 1000, onStatus = () => {} } = {}) {
    this.intervalMs = intervalMs;
    this.onStatus = onStatus;
    this.since = null;
    this.timer = null;
    this.actor = "learner";
  }
  get running() { return this.timer !== null; }
  async once() {
    const url = this.since === null ? "/api/poll?limit=20" : `/api/poll?since=${this.since}`;
    const res = await fetch(withActor(url, this.actor));
    this.since = Number(res.headers.get("X-Last-Event-Id") ?? this.since ?? 0);
    if (res.status === 200) {
      const batch = await res.json();
      this.since = batch.last_id;
      this.onStatus(`got ${batch.events.length} event(s), now at #${this.since}`);
    } else {
      this.onStatus(`no news (${res.status}), still at #${this.since}`);
    }
  }
  start({ actor = "learner" } = {}) {
    if (this.running) return;
    this.actor = actor;
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
    while (!signal.aborted) {
      const params = new URLSearchParams();
      if (this.timeoutS !== null) params.set("timeout", this.timeoutS);
      if (this.since !== null) params.set("since", this.since);
      try {
        this.onStatus("waiting for news…");
        if (this.actor === "play") params.set("actor", "play");
        const res = await fetch(`/api/long-poll?${params}`, { signal });
        this.since = Number(res.headers.get("X-Last-Event-Id") ?? this.since ?? 0);
        if (res.status === 200) {
          const batch = await res.json();
          this.since = batch.last_id;
          this.onStatus(`got ${batch.events.length} event(s), asking again`);
        }
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
    this.source.onerror = () => this.onStatus("connection lost; the browser reconnects by itself…");
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
