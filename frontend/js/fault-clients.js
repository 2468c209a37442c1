// Clients that survive a hostile network, for the network-faults lesson:
// - WatchedStream: an SSE stream that either uses the browser's EventSource
//   through the lessons' own client (clients/sse.js: reconnects by itself,
//   but stops for good on a 502), or —
//   with the watchdog on — reads the stream with fetch(), sees the
//   `: heartbeat` comments EventSource hides, and when nothing at all
//   arrives for twice the heartbeat interval closes it and reconnects with
//   the last event id.
// - BackoffSocket: the lessons' own WebSocket client (clients/ws.js),
//   reconnected after an unplanned close, waiting a random time up to an
//   exponentially growing cap (full jitter).

import { withActor } from "./api.js";
import { actorQuery } from "./clients.js";
import { openStream } from "./clients/sse.js";
import { connect as openSocket } from "./clients/ws.js";

/** Heartbeat the watchdog asks for, and the silence it tolerates (2×). */
export const HEARTBEAT_S = 2;
export const WATCHDOG_MS = 2 * HEARTBEAT_S * 1000;

const STATES = ["CONNECTING", "OPEN", "CLOSED"];

export class WatchedStream {
  constructor({ onChange = () => {}, onEvent = () => {} } = {}) {
    this.onChange = onChange;
    this.onEvent = onEvent;
    this.watchdog = false;
    this.source = null;   // EventSource mode
    this.abort = null;    // fetch mode
    this.lastId = null;
    this.events = 0;
    this.reconnects = 0;
    this.state = "closed";
    this.actor = "learner";
  }

  get running() { return this.source !== null || this.abort !== null; }

  /** "CONNECTING", "OPEN" or "CLOSED", as EventSource's readyState names it. */
  get readyState() {
    if (this.source) return STATES[this.source.readyState];
    return this.abort ? this.state.toUpperCase() : "CLOSED";
  }

  start({ actor = "learner" } = {}) {
    if (this.running) return;
    this.actor = actor;
    if (this.watchdog) this.read(false);
    else this.openEventSource();
    this.onChange();
  }

  stop() {
    this.source?.close();
    this.source = null;
    this.abort?.abort();
    this.abort = null;
    clearTimeout(this.timer);
    this.state = "closed";
    this.onChange();
  }

  /** One event: `payload` is its parsed JSON (or the raw text, if it is not JSON). */
  event(id, payload) {
    this.events += 1;
    if (id) this.lastId = id;
    this.onEvent(id, payload);
    this.onChange();
  }

  openEventSource() {
    this.source = openStream({
      query: actorQuery(this.actor),
      onEvent: (event, lastId) => this.event(lastId, event),
      onStatus: () => this.onChange(),
    });
  }

  /** fetch() mode: every byte, heartbeats included, feeds the watchdog. */
  async read(resume) {
    const params = new URLSearchParams({ heartbeat: String(HEARTBEAT_S) });
    if (resume) {
      params.set("watchdog", "1");
      if (this.lastId) params.set("last_event_id", this.lastId);
    }
    const abort = new AbortController();
    this.abort = abort;
    this.state = "connecting";
    this.onChange();
    const bark = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        if (this.abort !== abort) return;
        abort.abort();
        this.reconnects += 1;
        this.read(true);
      }, WATCHDOG_MS);
    };
    bark();
    try {
      const res = await fetch(withActor(`/api/sse?${params}`, this.actor), { signal: abort.signal, headers: { Accept: "text/event-stream" } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.state = "open";
      this.onChange();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bark();
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id = null;
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("id:")) id = line.slice(3).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) this.event(id, parseOrText(data));
        }
      }
    } catch {
      // Aborted by the watchdog or stop(), or refused: the watchdog's timer decides.
    }
    if (this.abort === abort) {
      this.state = "connecting";
      this.onChange();
    }
  }
}

export class BackoffSocket {
  constructor({ onChange = () => {}, onMessage = () => {}, baseMs = 250, capMs = 2000 } = {}) {
    this.onChange = onChange;
    this.onMessage = onMessage;
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.socket = null;
    this.wanted = false;
    this.attempt = 0;
    this.lastClose = null;
    this.nextIn = null;
    this.actor = "learner";
  }

  get running() { return this.wanted; }

  get readyState() {
    return this.socket ? ["CONNECTING", "OPEN", "CLOSING", "CLOSED"][this.socket.readyState] : "CLOSED";
  }

  start({ actor = "learner" } = {}) {
    if (this.wanted) return;
    this.wanted = true;
    this.actor = actor;
    this.attempt = 0;
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    this.nextIn = null;
    const socket = openSocket({
      query: actorQuery(this.actor),
      onOpen: () => {
        this.attempt = 0;
        this.onChange();
      },
      onMessage: (msg, raw) => this.onMessage(msg, raw),
      onClose: (code) => {
        this.lastClose = code;
        if (this.socket === socket) this.socket = null;
        if (this.wanted) {
          // Full jitter: a random wait up to min(cap, base × 2^attempt).
          this.attempt += 1;
          const wait = Math.round(Math.random() * Math.min(this.capMs, this.baseMs * 2 ** this.attempt));
          this.nextIn = wait;
          this.timer = setTimeout(() => this.connect(), wait);
        }
        this.onChange();
      },
    });
    this.socket = socket;
    this.opened = new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
    this.onChange();
  }

  ready() { return this.opened ?? Promise.resolve(); }

  send(text) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(text);
    return true;
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.nextIn = null;
    this.socket?.close(1000, "done");
    this.socket = null;
    this.onChange();
  }
}

/** JSON if it parses, else the text as it came. */
function parseOrText(data) {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
