// The network-faults lesson's live pane: the clients (poll, SSE, WebSocket)
// and the switches and actions that break their path — corporate proxy,
// gzip, deploy, half-open, the SSE watchdog, a reconnect storm — plus the
// upward-latency measurement and two deliberate mistakes to find in the log.
// Every control carries data-client / data-action for the browser driver;
// `act()` is what play mode ("show me") calls, with actor "play".

import { pageJson, sendJson } from "../api.js";
import { PollingClient, runAs } from "../clients.js";
import { BackoffSocket, HEARTBEAT_S, WATCHDOG_MS, WatchedStream } from "../fault-clients.js";
import { setFaults, startDeploy, startHalfOpen } from "../faults.js";
import { render as renderStorm, runStorm, summary as stormSummary } from "../storm.js";
import { button, el, LogKind, messageLog, status } from "./kit.js";

const ago = (iso) => (iso ? Math.max(0, Date.now() - Date.parse(iso)) : null);
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const ms = (v) => (v == null ? "–" : `${Math.round(v)} ms`);

/** A toggle button; its click handler is set later, as `onclick`. */
function toggle(text, data) {
  const b = el("button", { type: "button", class: "ghost", text });
  b.setAttribute("aria-pressed", "false");
  Object.assign(b.dataset, data);
  return b;
}

function group(title, ...children) {
  return el("fieldset", { class: "fault-group" }, el("legend", { class: "small", text: title }), ...children);
}

export function mount(root) {
  const log = messageLog("What the clients saw");
  const line = () => el("dd", { class: "mono small", text: "–" });
  const pollState = line();
  const sseState = line();
  const wsState = line();
  const faultState = status("Fault switches: all off.");
  const board = el("dl", { class: "fault-board" },
    el("dt", { class: "small", text: "Polling" }), pollState,
    el("dt", { class: "small", text: "SSE" }), sseState,
    el("dt", { class: "small", text: "WebSocket" }), wsState);

  // Clients.
  let polls = 0;
  const poll = new PollingClient({
    intervalMs: 1000,
    onStatus: (s) => { polls += 1; pollState.textContent = `${polls} polls; last: ${s}`; },
  });
  let lastLate = null;
  let burst = [];
  const sse = new WatchedStream({
    onChange: () => showSse(),
    onEvent: (id, e) => {
      lastLate = ago(e?.published_at);
      burst = [...burst.filter((t) => Date.now() - t < 500), Date.now()];
      log.add(`SSE #${id}: arrived ${ms(lastLate)} after it was published${burst.length > 1 ? ` (${burst.length} in one burst)` : ""}`,
        lastLate > 1000 ? LogKind.warn : LogKind.news);
    },
  });
  const showSse = () => {
    const mode = sse.watchdog ? `fetch reader, watchdog ${WATCHDOG_MS / 1000} s` : "EventSource";
    sseState.textContent = `readyState ${sse.readyState} (${mode}); ${sse.events} events, last id ${sse.lastId ?? "–"}; `
      + `last arrived ${ms(lastLate)} after publishing; watchdog reconnects: ${sse.reconnects}`;
    setPressed(sseToggle, sse.running);
  };
  const ws = new BackoffSocket({
    onChange: () => {
      wsState.textContent = `${ws.readyState}; last close code ${ws.lastClose ?? "–"}`
        + `${ws.nextIn != null ? `; reconnecting in ${ws.nextIn} ms (back-off with jitter)` : ""}`;
      setPressed(wsToggle, ws.running);
    },
    onMessage: (msg, raw) => {
      if (msg.type === "pong" && pending.has(msg.ref)) pending.get(msg.ref)();
      else if (msg.type === "event") log.add(`WebSocket event #${msg.event.id}`, LogKind.news);
      else if (msg.type === "error") log.add(`WebSocket error reply: ${raw.slice(0, 140)}`, LogKind.warn);
    },
  });
  const setPressed = (b, on) => b.setAttribute("aria-pressed", String(on));
  const flip = (client, b) => () => { if (client.running) client.stop(); else client.start(); setPressed(b, client.running); };
  const pollToggle = toggle("Polling", { client: "poll" });
  const sseToggle = toggle("SSE stream", { client: "sse" });
  const wsToggle = toggle("WebSocket", { client: "ws" });
  pollToggle.onclick = flip(poll, pollToggle);
  sseToggle.onclick = flip(sse, sseToggle);
  wsToggle.onclick = flip(ws, wsToggle);

  // Fault switches.
  let switches = { corporate_proxy: false, gzip: "off" };
  const proxyToggle = toggle("Corporate proxy", { action: "fault-proxy" });
  const gzipButtons = ["off", "buffered", "flushed"].map((mode) => toggle(`gzip ${mode}`, { action: `gzip-${mode}` }));
  const showSwitches = () => {
    setPressed(proxyToggle, switches.corporate_proxy);
    gzipButtons.forEach((b, i) => setPressed(b, ["off", "buffered", "flushed"][i] === switches.gzip));
    faultState.textContent = `Corporate proxy ${switches.corporate_proxy ? "ON: WebSocket upgrades get 403, SSE is held until 4 KiB" : "off"}; `
      + `gzip on SSE: ${switches.gzip}. Applies to streams and sockets opened from now on.`;
  };
  const change = async (changes, actor = "learner") => {
    try { switches = await setFaults(changes, actor); showSwitches(); } catch (err) { faultState.textContent = err.message; }
  };
  proxyToggle.onclick = () => change({ corporate_proxy: !switches.corporate_proxy });
  gzipButtons.forEach((b, i) => { b.onclick = () => change({ gzip: ["off", "buffered", "flushed"][i] }); });

  // Actions.
  const seconds = el("input", { type: "number", min: "1", max: "30", value: "4", class: "narrow", "aria-label": "Deploy length in seconds" });
  const actionState = status("");
  const deploy = async (n, actor = "learner") => {
    const r = await startDeploy(n, actor);
    actionState.textContent = `Deploy: ${r.cut} connection(s) cut; 502 Bad Gateway for ${r.seconds} s.`;
  };
  const halfOpen = async (actor = "learner") => {
    const r = await startHalfOpen(30, actor);
    actionState.textContent = `Half-open: ${r.frozen} connection(s) went silent (the server closes them after ${r.close_after_s} s).`;
  };
  const watchdogToggle = toggle(`SSE watchdog (${WATCHDOG_MS / 1000} s)`, { action: "watchdog" });
  const setWatchdog = (on) => {
    const was = sse.running;
    if (was) sse.stop();
    sse.watchdog = on;
    setPressed(watchdogToggle, on);
    if (was) sse.start({ actor: sse.actor });
    showSse();
  };
  watchdogToggle.onclick = () => setWatchdog(!sse.watchdog);
  const safely = (fn) => async () => { try { await fn(); } catch (err) { actionState.textContent = err.message; } };
  const deployBtn = button("Deploy (502s)", safely(() => deploy(Number(seconds.value))), "ghost");
  deployBtn.dataset.action = "deploy";
  const halfBtn = button("Go half-open", safely(() => halfOpen()), "ghost");
  halfBtn.dataset.action = "half-open";

  // Storm.
  const stormClients = el("input", { type: "number", min: "10", max: "200", value: "200", class: "narrow", "aria-label": "Storm clients" });
  const stormTransport = el("select", { "aria-label": "Storm clients' transport" },
    el("option", { value: "sse", text: "SSE" }), el("option", { value: "websocket", text: "WebSocket" }));
  stormClients.dataset.action = "storm-clients";
  stormTransport.dataset.action = "storm-transport";
  const stormState = status("");
  const stormOut = el("div", { class: "storm-runs" });
  const runs = [];
  let storming = false;
  const storm = async (transport, strategy, clients, actor = "learner") => {
    if (storming) return;
    storming = true;
    stormButtons.forEach((b) => { b.disabled = true; });
    try {
      const start = () => runStorm({ clients, strategy, transport, retry_ms: 1000 }, {
        actor,
        onProgress: (r, s) => { stormState.textContent = `Storm #${r.id} running… (${s} s)`; },
      });
      let run = null;
      // One storm per learner at a time: one started before a reload may still be running.
      for (let tries = 0; !run; tries++) {
        try {
          run = await start();
        } catch (err) {
          if (err.status !== 429 || tries >= 30) throw err;
          stormState.textContent = `${err.message} Starting when it ends…`;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      stormState.textContent = `Storm #${run.id} done. ${stormSummary(run)}`;
      runs.push(run);
      if (runs.length > 2) runs.shift();
      renderStorm(stormOut, runs);
    } catch (err) {
      stormState.textContent = `The storm did not run: ${err.message}`;
    } finally {
      storming = false;
      stormButtons.forEach((b) => { b.disabled = false; });
    }
  };
  const stormButtons = [["fixed", "Storm: fixed 1 s retry"], ["backoff_jitter", "Storm: back-off + jitter"]].map(([strategy, text]) => {
    const b = button(text, () => storm(stormTransport.value, strategy, Number(stormClients.value)), "ghost");
    b.dataset.action = strategy === "fixed" ? "storm-fixed" : "storm-jitter";
    return b;
  });

  // Upward latency.
  const latencyState = el("p", { class: "small mono", "aria-live": "polite", text: "WebSocket ping→pong median – · POST→201 median –" });
  const pending = new Map();
  const latency = async (n, actor = "learner") => {
    runAs(ws, actor);
    await Promise.race([ws.ready(), new Promise((r) => setTimeout(r, 3000))]);
    const wsTimes = [];
    const postTimes = [];
    for (let i = 0; i < n; i++) {
      const ref = `lat-${Date.now()}-${i}`;
      const t0 = performance.now();
      const back = new Promise((resolve) => { pending.set(ref, resolve); setTimeout(resolve, 3000); });
      if (ws.send(JSON.stringify({ type: "ping", ref }))) { await back; wsTimes.push(performance.now() - t0); }
      pending.delete(ref);
      const t1 = performance.now();
      // A refused publish (429) still took its round trip: timed all the same.
      await sendJson("POST", "/api/events", { topic: "latency", type: "note", data: { i } }, { actor }).catch(() => {});
      postTimes.push(performance.now() - t1);
    }
    latencyState.textContent = `WebSocket ping→pong median ${ms(median(wsTimes))} (${wsTimes.length} messages) · `
      + `POST→201 median ${ms(median(postTimes))} (${postTimes.length} requests)`;
  };
  const latencyBtn = button("Send 10 up each way", async () => {
    latencyBtn.disabled = true;
    try { await latency(10); } finally { latencyBtn.disabled = false; }
  }, "ghost");
  latencyBtn.dataset.action = "latency";

  // Deliberate mistakes.
  const bad = async (kind, actor = "learner") => {
    if (kind === "ws") {
      runAs(ws, actor);
      await Promise.race([ws.ready(), new Promise((r) => setTimeout(r, 3000))]);
      ws.send(JSON.stringify({ type: "shout", text: "no such message type" }));
      log.add("sent a WebSocket message of an unknown type", LogKind.warn);
    } else {
      // A topic must be a string: the server answers 400 with a problem document.
      const status = await sendJson("POST", "/api/events", { topic: 42 }, { actor }).then(() => 202, (err) => err.status ?? err.message);
      log.add(`POST /api/events with a bad body → ${status}`, LogKind.warn);
    }
  };
  const badWs = button("Send a bad WebSocket message", () => bad("ws"), "ghost");
  badWs.dataset.action = "bad-ws";
  const badPost = button("Send a bad POST", () => bad("post"), "ghost");
  badPost.dataset.action = "bad-post";

  root.append(
    group("Clients", el("div", { class: "widget-controls" }, pollToggle, sseToggle, wsToggle), board),
    group("Between you and the server", el("div", { class: "widget-controls" }, proxyToggle, ...gzipButtons), faultState),
    group("Things that happen to open connections",
      el("div", { class: "widget-controls" }, el("label", { class: "small" }, "for ", seconds, " s"), deployBtn, halfBtn, watchdogToggle),
      el("p", { class: "muted small", text: `With the watchdog on, the SSE stream is read with fetch() and asks for a heartbeat every ${HEARTBEAT_S} s.` }),
      actionState),
    group("Reconnect storm",
      el("div", { class: "widget-controls" }, el("label", { class: "small" }, stormClients, " clients over "), stormTransport, ...stormButtons),
      stormState, stormOut),
    group("Upward path and debugging",
      el("div", { class: "widget-controls" }, latencyBtn, badWs, badPost), latencyState),
    log.node);
  showSwitches();
  // The switches live on the server: show them as they are (a reload keeps them).
  pageJson("/api/faults").then((now) => { switches = now; showSwitches(); }).catch(() => {});
  showSse();
  ws.onChange();
  pollState.textContent = "stopped";

  /** What play mode does (every request carries actor=play). */
  const act = async (a, actor = "play") => {
    switch (a.action) {
      case "fault":
        return a.target === "corporate_proxy" ? change({ corporate_proxy: a.value === 1 }, actor) : change({ gzip: a.text }, actor);
      case "deploy": return deploy(a.value, actor);
      case "half_open": return halfOpen(actor);
      case "watchdog": return setWatchdog(a.value === 1);
      case "storm": return storm(a.target, a.text, a.value, actor);
      case "latency": return latency(a.value, actor);
      case "bad": return bad(a.target, actor);
      default: throw new Error(`the faults widget cannot do ${a.action}`);
    }
  };
  const clients = { poll, sse, ws };
  for (const [name, client] of Object.entries(clients)) {
    const b = { poll: pollToggle, sse: sseToggle, ws: wsToggle }[name];
    const { start, stop } = client;
    client.start = (opts) => { start.call(client, opts); setPressed(b, client.running); };
    client.stop = () => { stop.call(client); setPressed(b, client.running); };
  }
  return {
    clients,
    act,
    stopClients: () => { poll.stop(); sse.stop(); ws.stop(); },
    stop: () => {
      poll.stop(); sse.stop(); ws.stop();
      // Switches are the learner's: leaving the lesson turns them off.
      sendJson("DELETE", "/api/faults").catch(() => {});
    },
  };
}
