// The cluster widget's three clients, each the lessons' own client file
// pointed at an instance: an SSE stream that moves to the other instance
// and resumes from its last id, a WebSocket that stays closed until the
// learner reconnects it (asking for what it missed, or not), and a poller
// whose cursor lets any instance answer.
//
// Each takes the widget's context `c`: { topic, instances, actorQuery(),
// tell(sentence, kind), later(fn, ms), stopped(), render(), renderCounts() }
// and the ClientTally it reports to.

import { createPoller } from "../../clients/poll.js";
import { openStream, STREAM } from "../../clients/sse.js";
import { connect } from "../../clients/ws.js";
import { LogKind } from "../kit.js";
import { other } from "./instances.js";
import { plural, range } from "./tally.js";

export const POLL_EVERY_MS = 1000;
/** How long after reconnecting the widget sums up what came back. */
const REPORT_AFTER_MS = 800;

const joinQuery = (...parts) => parts.filter(Boolean).join("&");

/** SSE: resuming is part of the protocol; moving to a live instance is the balancer's job, done here by hand. */
export function sseMover(c, tally) {
  let source = null;
  let last = null;
  let move = null; // { from, to, lastBefore } while moving

  function open(name, resume) {
    const base = c.instances.url(name);
    if (!base) return;
    tally.on = name;
    // Another origin: the learner's cookie goes along, so the instance logs
    // this stream under the same learner (the lesson's checks count it).
    const mine = openStream({
      base,
      since: resume,
      query: joinQuery(`topics=${c.topic}`, c.actorQuery()),
      onEvent: (_event, lastId) => {
        last = Number(lastId);
        tally.record(last);
        c.renderCounts();
      },
      onStatus: (what, message) => {
        if (what === STREAM.open) opened(name, resume);
        else if (what === STREAM.reset) c.tell(`SSE reset: ${message}`, LogKind.warn);
        else if (mine === source && !c.stopped()) broke(name);
      },
    });
    source = mine;
  }

  function opened(name, resume) {
    tally.connected();
    tally.line.textContent = `stream open on ${name}${resume !== null ? `, resumed after #${resume}` : ""}`;
    if (move) c.later(reportMove, REPORT_AFTER_MS);
    c.renderCounts();
  }

  function broke(name) {
    // Stop the browser's own retries (they would go to the same, dead, URL).
    source.close();
    source = null;
    const to = c.instances.running(other(name)) ? other(name) : name;
    const retryMs = c.instances.retryMs;
    move = { from: name, to, lastBefore: last };
    tally.line.textContent = `the stream to ${name} broke; reconnecting to ${to} in ${retryMs} ms with last_event_id=${last ?? "none"}`;
    c.tell(`SSE: the stream to ${name} broke. A browser's EventSource would retry the same URL in ${retryMs} ms (the server's retry:) with Last-Event-ID #${last}; a load balancer would send that retry to a live instance. Here the widget moves it to ${to} itself.`);
    c.later(() => open(to, last), retryMs);
  }

  function reportMove() {
    if (!move) return;
    const { from, to, lastBefore } = move;
    move = null;
    const caughtUp = tally.received.filter((id) => lastBefore === null || id > lastBefore);
    const lost = tally.missing().length;
    const body = caughtUp.length
      ? `received ${plural(caughtUp.length, "event")} (${range(caughtUp)}) it missed while ${from} was down`
      : `missed nothing while ${from} was down (nothing was published meanwhile)`;
    c.tell(`The SSE client moved to ${to} and ${body}: ${lost} lost.`, lost ? LogKind.warn : LogKind.news);
    tally.line.dataset.moved = to;
    c.renderCounts();
  }

  return {
    open,
    close() {
      source?.close();
      source = null;
      tally.on = null;
    },
  };
}

/** WebSocket: nothing reconnects, and nothing is resent, unless the application asks. */
export function wsClient(c, tally, { withSince }) {
  let socket = null;
  let last = null;
  let wasOpen = false;
  let resume = null; // { to, gap, since, withSince } while reconnecting

  function open(name, since) {
    const base = c.instances.url(name);
    if (!base) return;
    tally.on = name;
    const mine = connect({
      base,
      topics: [c.topic],
      since,
      query: c.actorQuery(),
      onOpen: () => {
        wasOpen = true;
        tally.connected();
        tally.line.textContent = `connected to ${name}; subscribed${since !== null ? ` with since=${since}` : " (no since)"}`;
        if (resume) c.later(report, REPORT_AFTER_MS);
        c.render();
      },
      onMessage: (msg, text) => {
        if (msg.type === "event" && msg.event.topic === c.topic) {
          last = Math.max(last ?? 0, msg.event.id);
          tally.record(msg.event.id);
          c.renderCounts();
        } else if (msg.type === "reset") c.tell(`WebSocket reset: ${msg.message ?? text}`, LogKind.warn);
      },
      onClose: (code) => {
        if (mine !== socket) return;
        socket = null;
        tally.line.textContent = `closed (${code}); nothing reconnects unless your code does`;
        tally.line.dataset.closed = String(code);
        if (!c.stopped()) c.tell(`WebSocket: closed (${code}) when ${name} went away. It stays closed: reconnecting, and asking for what was missed, is the application's job.`, LogKind.warn);
        c.render();
      },
    });
    socket = mine;
  }

  /** Where a reconnect goes: the other instance if it is up, else the same one, else nowhere. */
  function target() {
    if (!c.instances.started) return null;
    const from = tally.on ?? "A";
    if (c.instances.running(other(from))) return other(from);
    return c.instances.running(from) ? from : null;
  }

  function reconnect() {
    const to = target();
    if (!to || socket) return;
    const since = withSince() ? last : null;
    resume = { to, gap: tally.missing(), since, withSince: withSince() };
    delete tally.line.dataset.closed;
    open(to, since);
  }

  function report() {
    if (!resume) return;
    const { to, gap, since, withSince: asked } = resume;
    resume = null;
    const got = new Set(tally.received);
    const recovered = gap.filter((id) => got.has(id));
    const lost = tally.missing().length;
    if (asked) {
      c.tell(`The WebSocket client reconnected to ${to} and subscribed with since=${since ?? "none"}: it got ${plural(recovered.length, "event")} (${range(recovered)}) it would have lost without since; ${lost} lost.`, lost ? LogKind.warn : LogKind.news);
    } else {
      c.tell(`The WebSocket client reconnected to ${to} without since: the ${plural(gap.length, "event")} published while it was down (${range(gap)}) are lost for it.`, LogKind.warn);
    }
    c.renderCounts();
  }

  return {
    open,
    reconnect,
    target,
    /** Whether it can be reconnected by hand: it was open once and is closed now. */
    get closedByLoss() { return socket === null && wasOpen; },
    close() {
      const s = socket;
      socket = null;
      s?.close(1000, "done");
      tally.on = null;
    },
  };
}

/** Polling: the cursor travels with every request, so it asks B, or A while B is down. */
export function clusterPoller(c, tally) {
  let wanted = false;
  let poller = null; // only while it asks
  let cursor = null; // kept across pauses and restarts, as any poller's own would be
  let failing = false;

  const onAnswer = (a) => {
    if (a.error) {
      if (!failing) c.tell(`The poller's request to ${tally.on} failed; it asks again in ${POLL_EVERY_MS / 1000} s.`, LogKind.warn);
      failing = true;
    } else {
      for (const e of a.events) tally.record(e.id);
      cursor = a.since;
      tally.connected();
      tally.line.textContent = `asked ${tally.on} for news after #${cursor} (every ${POLL_EVERY_MS / 1000} s)`;
      failing = false;
    }
    c.renderCounts();
  };

  /** Points the poller at the instance to ask now; pauses it while neither is up. */
  function aim() {
    if (!wanted) return;
    const name = c.instances.running("B") ? "B" : c.instances.running("A") ? "A" : null;
    if (!name) {
      poller?.stop();
      poller = null;
      return;
    }
    if (tally.on && tally.on !== name) c.tell(`The poller now asks ${name}: its cursor (#${cursor}) travels with each request, so any instance can answer.`);
    tally.on = name;
    poller ??= createPoller({ since: cursor, everyMs: POLL_EVERY_MS, credentials: "include", onAnswer });
    poller.base = c.instances.url(name);
    poller.query = joinQuery(`topics=${c.topic}`, c.actorQuery());
    if (!poller.running) poller.start();
  }

  return {
    aim,
    start() {
      wanted = true;
      aim();
    },
    close() {
      wanted = false;
      poller?.stop();
      poller = null;
      tally.on = null;
    },
  };
}
