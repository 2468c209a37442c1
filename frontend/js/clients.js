// The four transports' clients as start() / stop() objects with an
// onStatus callback, for the pages that drive several at once (play mode,
// the comparison, the sequence view, the traffic page). Each wraps the one
// file in clients/ that its widget shows and runs, so what a lesson shows
// is what every page runs.
//
// Every start begins from "now", as EventSource and a fresh WebSocket do: the
// polling clients ask for no backlog, so their first answers are the empty
// ones. An answer that follows one with `more: true` brings events that were
// already waiting when the client last asked: that is catch-up, not news
// that waited, and the status line says so.
// start({ actor: "play" }) marks the traffic as play mode's ("show me"):
// lessons count it as watched, never as the learner's own.
// onStatus(text, kind): the kind (a StatusKind) says what the line tells,
// so a page styles it without reading the words.

import { createPoller } from "./clients/poll.js";
import { createLongPoller } from "./clients/long-poll.js";
import { openStream, STREAM } from "./clients/sse.js";
import { connect } from "./clients/ws.js";

/** What a status line tells. */
export const StatusKind = Object.freeze({
  news: "news", // events arrived, or older ones caught up
  empty: "empty", // an answer without news
  waiting: "waiting", // a question is out, no answer yet
  trouble: "trouble", // an error, a lost or refused connection
  state: "state", // opened, closed, stopped
});

const older = (n) => `caught up on ${n} older event${n === 1 ? "" : "s"}`;

/**
 * Makes `client` run as `actor`'s: started if it was not, restarted if the
 * other one opened it (play mode's send over the learner's socket would
 * count as the learner's, and the learner's over play's as only watched).
 */
export function runAs(client, actor) {
  if (client.running && client.actor === actor) return;
  client.stop();
  client.start({ actor });
}

/** The extra query the clients/ files add to their URLs. */
export const actorQuery = (actor) => (actor === "play" ? "actor=play" : "");

/** A polling answer as [status line, kind]; `behind` is whether the previous one had `more`. */
function describe(answer, behind) {
  if (answer.error) return [`error: ${answer.error}`, StatusKind.trouble];
  const n = answer.events.length;
  if (n === 0) return [`no news (204), still at #${answer.since}`, StatusKind.empty];
  return [behind ? `${older(n)}, now at #${answer.since}` : `got ${n} event(s), now at #${answer.since}`, StatusKind.news];
}

export class PollingClient {
  constructor({ intervalMs = 1000, onStatus = () => {} } = {}) {
    this.onStatus = onStatus;
    this.actor = "learner";
    this.behind = false;
    this.make(intervalMs);
  }
  make(everyMs) {
    this.madeFor = this.actor;
    this.poller = createPoller({
      everyMs,
      query: actorQuery(this.actor),
      onAnswer: (a) => {
        this.onStatus(...describe(a, this.behind));
        if (!a.error) this.behind = a.more === true;
      },
    });
  }
  get intervalMs() { return this.poller.everyMs; }
  set intervalMs(ms) { this.poller.everyMs = ms; }
  get running() { return this.poller.running; }
  once() {
    // The cursor lives in the poller: keep it unless the poll is someone else's now.
    if (this.madeFor !== this.actor) {
      this.poller.stop();
      this.make(this.intervalMs);
    }
    return this.poller.pollOnce();
  }
  start({ actor = "learner" } = {}) {
    if (this.running) return;
    this.actor = actor;
    this.behind = false;
    this.make(this.intervalMs);
    this.poller.start();
  }
  stop() { this.poller.stop(); }
}

export class LongPollingClient {
  // timeoutS null: let the server pick (25 s unless it was started otherwise).
  constructor({ timeoutS = null, onStatus = () => {} } = {}) {
    this.timeoutS = timeoutS;
    this.onStatus = onStatus;
    this.poller = null;
  }
  get running() { return this.poller?.running ?? false; }
  start({ actor = "learner" } = {}) {
    if (this.running) return;
    let behind = false;
    this.poller = createLongPoller({
      timeoutS: this.timeoutS,
      query: actorQuery(actor),
      onAnswer: (a) => {
        if (a.waiting) this.onStatus("waiting for news…", StatusKind.waiting);
        else if (a.error) this.onStatus(`error: ${a.error}; retrying in ${a.retryMs / 1000} s`, StatusKind.trouble);
        else if (a.events.length) {
          const n = a.events.length;
          this.onStatus(behind ? `${older(n)}, asking again` : `got ${n} event(s), asking again`, StatusKind.news);
        }
        if (!a.waiting && !a.error) behind = a.more === true;
      },
    });
    this.poller.start();
  }
  stop() { this.poller?.stop(); this.poller = null; this.onStatus("stopped", StatusKind.state); }
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
    this.source = openStream({
      query: actorQuery(actor),
      onStatus: (s, message) => this.onStatus(...({
        [STREAM.open]: ["stream open", StatusKind.state],
        [STREAM.closedForGood]: ["closed for good: the answer was not a 200 event stream", StatusKind.trouble],
        [STREAM.reconnecting]: ["connection lost; the browser retries by itself…", StatusKind.trouble],
        [STREAM.reset]: [`reset: ${message}`, StatusKind.trouble],
      }[s] ?? [s, StatusKind.state])),
      onEvent: (event, lastId) => {
        this.count += 1;
        this.onStatus(`${this.count} event(s) received, last #${lastId}`, StatusKind.news);
        this.onEvent(event);
      },
    });
  }
  stop() { this.source?.close(); this.source = null; this.onStatus("closed", StatusKind.state); }
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
    this.actor = actor;
    const socket = connect({
      query: actorQuery(actor),
      onOpen: () => this.onStatus("connected and subscribed", StatusKind.state),
      onMessage: (msg) => this.onMessage(msg),
      onClose: (code, reason) => {
        this.onStatus(`closed (${code}${reason ? `: ${reason}` : ""})`, StatusKind.state);
        if (this.socket === socket) this.socket = null;
      },
    });
    this.socket = socket;
    this.opened = new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
  }
  /** Resolves once the socket is open. */
  ready() { return this.opened ?? Promise.resolve(); }
  send(message) { this.socket?.send(typeof message === "string" ? message : JSON.stringify(message)); }
  stop() { this.socket?.close(1000, "done"); this.socket = null; }
}
