// The scaling lesson's cluster: two more instances of this server (A and B)
// sharing its Redis, an SSE client and a WebSocket client on A and a poller
// on B, all in this page. Kill A and watch: the SSE client moves to B and
// resumes from its last id, the WebSocket just closes until you reconnect it
// (and ask for what it missed), the poller never notices.

import { withActor } from "../clients.js";
import { button, codeBox, el, messageLog } from "./kit.js";

const CODE = `// SSE: resuming is part of the protocol. EventSource retries the SAME URL with
// a Last-Event-ID header; behind a load balancer that URL reaches a live instance.
// Here there is none, so the widget moves to the other instance itself:
source.onerror = () => {
  source.close();
  setTimeout(() => {
    source = new EventSource(\`\${B}/api/sse?topics=\${topic}&last_event_id=\${lastId}\`);
  }, retryMs);                               // the server's retry: value
};

// WebSocket: nothing reconnects unless your code does, and nothing is resent
// unless your code asks for it (this server's subscribe takes "since").
ws.onclose = (c) => show(\`closed (\${c.code})\`);
reconnect = () => {
  ws = new WebSocket(B.replace(/^http/, "ws") + "/api/ws");   // https: → wss:
  ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", topics: [topic], since: lastId }));
};

// Polling: the cursor travels with every request, so any instance can answer.
const r = await fetch(\`\${B}/api/poll?topics=\${topic}&since=\${cursor}\`);`;

const POLL_EVERY_MS = 1000;
const STATUS_EVERY_MS = 1500;
const PUBLISH_EVERY_MS = 1000;

const other = (name) => (name === "A" ? "B" : "A");

/** "#41–#45" for a list of ids (the ids are long: they start at the clock). */
function range(ids) {
  if (!ids.length) return "none";
  const sorted = [...ids].sort((a, b) => a - b);
  return sorted.length === 1 ? `#${sorted[0]}` : `#${sorted[0]}–#${sorted[sorted.length - 1]}`;
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function mount(root) {
  const topic = `cluster-${Math.random().toString(16).slice(2, 8)}`;
  // Who acts: play mode's presses ("show me") mark what follows as play's
  // (actor=play on every URL to the instances) until the learner clicks.
  let actor = "learner";
  const as = (u) => withActor(u, actor);
  // The learner's own click takes over clients "show me" connected, so what
  // they do next counts as theirs.
  root.addEventListener("click", (e) => {
    if (!e.isTrusted || actor === "learner") return;
    actor = "learner";
    if (clientsStarted) { closeClients(); startClients(); }
  }, true);
  let status = null; // GET /api/lab/cluster
  let stopped = false;
  const timers = new Set();
  const later = (fn, ms) => {
    const t = setTimeout(() => { timers.delete(t); if (!stopped) fn(); }, ms);
    timers.add(t);
  };
  const published = []; // { id, on, at }

  const say = messageLog("What happened, newest first");
  const headline = el("p", { class: "widget-status small", "aria-live": "polite", text: "Asking the server about its cluster lab…" });
  const hint = el("div", { class: "cluster-hint", hidden: "" });
  const startBtn = button("Start two instances", () => startCluster());
  const stopAllBtn = button("Stop both", () => stopCluster(), "ghost");
  stopAllBtn.disabled = true;

  // --- Instances A and B -------------------------------------------------
  const cards = {};
  for (const name of ["A", "B"]) {
    const state = el("span", { class: "cluster-state", text: "not started" });
    const where = el("span", { class: "mono small muted", text: "port —" });
    const toggle = button(`Kill ${name}`, () => toggleInstance(name), "ghost");
    toggle.disabled = true;
    const card = el("div", { class: "cluster-instance", "data-instance": name, "data-state": "none" },
      el("strong", { class: "cluster-name", text: `Instance ${name}` }), where, state, toggle);
    cards[name] = { card, state, where, toggle };
  }

  // --- Publishing --------------------------------------------------------
  const text = el("input", { type: "text", value: "hello from the cluster", "aria-label": "Text of the event to publish", class: "grow" });
  const pubA = button("Publish on A", () => publish("A"));
  const pubB = button("Publish on B", () => publish("B"));
  const auto = el("input", { type: "checkbox", id: `auto-${topic}` });
  const autoLabel = el("label", { class: "small", for: `auto-${topic}` }, auto, " keep publishing, 1 event/s, on whichever instance is up");
  let autoTimer = null;
  auto.addEventListener("change", () => {
    if (auto.checked) {
      const tick = () => {
        if (stopped || !auto.checked) return;
        const target = running("A") ? "A" : running("B") ? "B" : null;
        if (target) publish(target, { quiet: true });
        autoTimer = setTimeout(tick, PUBLISH_EVERY_MS);
      };
      tick();
    } else clearTimeout(autoTimer);
  });

  // --- The three clients -------------------------------------------------
  function clientBox(kind, title) {
    const where = el("span", { class: "cluster-on", text: "" });
    const line = el("p", { class: "cluster-line small", "aria-live": "polite", text: "waiting for the instances" });
    const counts = el("p", { class: "cluster-counts small", text: "0 of 0 events received · 0 missing" });
    const ids = el("ol", { class: "cluster-ids mono", "aria-label": `Event ids the ${title} received, newest first`, tabindex: "0" });
    const controls = el("div", { class: "cluster-client-controls" });
    const box = el("section", { class: "cluster-client", "data-client": kind, "aria-label": title },
      el("h4", {}, title, " ", where), line, counts, ids, controls);
    return { box, where, line, counts, ids, controls, received: [], on: null, since: null };
  }
  const sse = clientBox("sse", "SSE client");
  const ws = clientBox("ws", "WebSocket client");
  const poller = clientBox("poll", "Poller");

  const sinceBox = el("input", { type: "checkbox", checked: "", id: `since-${topic}` });
  const reconnectBtn = button("Reconnect", () => wsReconnect(), "");
  reconnectBtn.disabled = true;
  ws.controls.append(reconnectBtn,
    el("label", { class: "small", for: `since-${topic}` }, sinceBox, " ask for what I missed (since)"));
  sse.controls.append(el("span", { class: "small muted", text: "moves by itself (retry, then Last-Event-ID)" }));
  poller.controls.append(el("span", { class: "small muted", text: `asks every ${POLL_EVERY_MS / 1000} s with its cursor` }));

  root.append(
    el("div", { class: "widget-controls" }, startBtn, stopAllBtn),
    headline,
    hint,
    el("div", { class: "cluster-instances" }, cards.A.card, cards.B.card),
    el("div", { class: "widget-controls" }, text, pubA, pubB),
    el("div", { class: "widget-controls" }, autoLabel),
    el("div", { class: "cluster-clients" }, sse.box, ws.box, poller.box),
    el("h4", { class: "cluster-say-title", text: "What happened" }),
    say.node,
    codeBox(CODE),
  );

  // --- Helpers -------------------------------------------------------------
  const inst = (name) => status?.instances.find((i) => i.name === name);
  const running = (name) => inst(name)?.state === "running";
  const url = (name) => inst(name)?.url;
  const wsUrl = (name) => url(name)?.replace(/^http/, "ws");
  const retryMs = () => status?.sse_retry_ms ?? 2000;
  const tell = (sentence, cls = "") => say.add(sentence, cls);

  function record(client, id) {
    if (client.received.includes(id)) return false;
    client.received.push(id);
    client.ids.prepend(el("li", { text: `#${id} · ${client.on}`, "data-on": client.on ?? "", title: `event #${id}, received from instance ${client.on}` }));
    while (client.ids.children.length > 40) client.ids.lastElementChild.remove();
    return true;
  }
  function expectedFor(client) {
    return client.since === null ? [] : published.filter((p) => p.at >= client.since).map((p) => p.id);
  }
  function missing(client) {
    const got = new Set(client.received);
    return expectedFor(client).filter((id) => !got.has(id));
  }
  function renderCounts() {
    for (const c of [sse, ws, poller]) {
      const expected = expectedFor(c).length;
      const miss = missing(c).length;
      c.counts.textContent = `${c.received.length} of ${expected} events received · ${miss} missing`;
      c.counts.dataset.missing = String(miss);
      c.box.dataset.on = c.on ?? "";
      c.where.textContent = c.on ? `· on ${c.on}` : "";
    }
  }

  // --- Cluster status ----------------------------------------------------
  async function refresh() {
    try {
      const res = await fetch("/api/lab/cluster", { headers: { Accept: "application/json" } });
      status = await res.json();
    } catch {
      return;
    }
    render();
  }
  function render() {
    if (!status) return;
    if (!status.available) {
      headline.textContent = "Not available here: the instances need a Redis to share. The last step of the lesson shows the same by hand.";
      hint.hidden = false;
      hint.replaceChildren(el("p", { class: "small", text: status.hint }),
        el("pre", { class: "code" }, el("code", { text:
          "redis-server --port 6379 --save '' &\nrealtime-playground --redis-url redis://127.0.0.1:6379/" })));
      startBtn.disabled = true;
      pubA.disabled = pubB.disabled = true;
      auto.disabled = true;
      return;
    }
    const started = status.instances.length > 0;
    startBtn.disabled = started;
    stopAllBtn.disabled = !started;
    headline.textContent = started
      ? `Two instances share Redis (${status.redis_url}). ${reporting(status.backplane.instances)} to it in the last few seconds, this server included.`
      : `Ready: both instances will use ${status.redis_url}, as this server does.`;
    for (const name of ["A", "B"]) {
      const i = inst(name);
      const c = cards[name];
      c.card.dataset.state = i?.state ?? "none";
      c.where.textContent = i ? `port ${i.port}` : "port —";
      c.state.textContent = !i ? "not started" : i.state === "running" ? "● running" : "○ stopped";
      c.state.title = i?.state === "running" ? `process ${i.pid}` : i?.note ?? "";
      c.toggle.disabled = !i;
      c.toggle.textContent = i?.state === "stopped" ? `Restart ${name}` : `Kill ${name}`;
    }
    pubA.disabled = !running("A");
    pubB.disabled = !running("B");
    auto.disabled = !started;
    if (started && !clientsStarted) startClients();
    reconnectBtn.textContent = `Reconnect to ${reconnectTarget() ?? "…"}`;
    reconnectBtn.disabled = !!socket || !reconnectTarget() || !wsWasOpen;
    renderCounts();
  }
  async function poll() {
    await refresh();
    if (!stopped) later(poll, STATUS_EVERY_MS);
  }

  async function lab(method, path) {
    const res = await fetch(path, { method, headers: { Accept: "application/json" } });
    const body = await res.json();
    if (!res.ok) throw new Error(body.detail ?? res.statusText);
    status = body;
    render();
    return body;
  }

  async function startCluster() {
    startBtn.disabled = true;
    headline.textContent = "Starting A and B (each is this same program on its own port; about 2 s each)…";
    try {
      await lab("POST", "/api/lab/cluster");
      tell(`A listens on port ${inst("A").port}, B on port ${inst("B").port}; both share one event stream through Redis.`);
    } catch (err) {
      headline.textContent = err.message;
      startBtn.disabled = false;
    }
  }
  async function stopCluster() {
    closeClients();
    await lab("DELETE", "/api/lab/cluster").catch(() => {});
    tell("Both instances stopped.");
  }
  async function toggleInstance(name) {
    const c = cards[name];
    c.toggle.disabled = true;
    try {
      if (running(name)) {
        await lab("POST", `/api/lab/cluster/${name}/stop`);
        tell(`Instance ${name} was killed (SIGKILL): like a crash, no close frames, no goodbye.`, "warn");
      } else {
        c.state.textContent = "starting…";
        await lab("POST", `/api/lab/cluster/${name}/start`);
        tell(`Instance ${name} is back, on port ${inst(name).port}. The clients stay where they are.`);
      }
    } catch (err) {
      tell(err.message, "warn");
    }
    render();
  }

  async function publish(name, { quiet = false } = {}) {
    const target = url(name);
    if (!target) return;
    const at = performance.now();
    try {
      const res = await fetch(as(`${target}/api/events`), {
        method: "POST",
        credentials: "include",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ topic, type: "note", data: { text: text.value, on: name } }),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(body.detail ?? res.statusText);
      published.push({ id: body.id, on: name, at });
      if (!quiet) tell(`Published #${body.id} on ${name}.`);
    } catch (err) {
      tell(`Publishing on ${name} failed: ${err.message}.`, "warn");
    }
    renderCounts();
  }

  // --- SSE client ----------------------------------------------------------
  let source = null;
  let sseLast = null;
  let sseMove = null; // { from, to, gap }
  function sseOpen(name, resume) {
    const base = url(name);
    if (!base) return;
    const q = new URLSearchParams({ topics: topic });
    if (resume !== null) q.set("last_event_id", String(resume));
    sse.on = name;
    // With credentials: the learner's cookie goes along, so the instance logs
    // this stream under the same learner (the lesson's checks count it).
    source = new EventSource(as(`${base}/api/sse?${q}`), { withCredentials: true });
    const mine = source;
    source.onopen = () => {
      if (sse.since === null) sse.since = performance.now();
      sse.line.textContent = `stream open on ${name}${resume !== null ? `, resumed after #${resume}` : ""}`;
      if (sseMove) later(() => reportMove(), 800);
      renderCounts();
    };
    const onEvent = (m) => {
      const id = Number(m.lastEventId);
      sseLast = id;
      record(sse, id);
      renderCounts();
    };
    source.addEventListener("note", onEvent);
    source.addEventListener("reset", (m) => tell(`SSE reset: ${JSON.parse(m.data).message}`, "warn"));
    source.onerror = () => {
      if (mine !== source || stopped) return;
      // Stop the browser's own retries (they would go to the same, dead, URL).
      source.close();
      source = null;
      const to = running(other(name)) ? other(name) : name;
      const gapStart = missing(sse);
      sseMove = { from: name, to, already: gapStart.length, lastBefore: sseLast };
      sse.line.textContent = `the stream to ${name} broke; reconnecting to ${to} in ${retryMs()} ms with last_event_id=${sseLast ?? "none"}`;
      tell(`SSE: the stream to ${name} broke. A browser's EventSource would retry the same URL in ${retryMs()} ms (the server's retry:) with Last-Event-ID #${sseLast}; a load balancer would send that retry to a live instance. Here the widget moves it to ${to} itself.`);
      later(() => sseOpen(to, sseLast), retryMs());
    };
  }
  function reportMove() {
    if (!sseMove) return;
    const { from, to, lastBefore } = sseMove;
    sseMove = null;
    const caughtUp = sse.received.filter((id) => lastBefore === null || id > lastBefore);
    const lost = missing(sse).length;
    const body = caughtUp.length
      ? `received ${plural(caughtUp.length, "event")} (${range(caughtUp)}) it missed while ${from} was down`
      : `missed nothing while ${from} was down (nothing was published meanwhile)`;
    tell(`The SSE client moved to ${to} and ${body}: ${lost} lost.`, lost ? "warn" : "news");
    sse.line.dataset.moved = to;
    renderCounts();
  }

  // --- WebSocket client ----------------------------------------------------
  let socket = null;
  let wsLast = null;
  let wsWasOpen = false;
  let wsResume = null; // { gap: ids missing when reconnecting }
  const reconnectTarget = () => {
    if (!status?.instances.length) return null;
    const from = ws.on ?? "A";
    return running(other(from)) ? other(from) : running(from) ? from : null;
  };
  function wsOpen(name, since) {
    const target = wsUrl(name);
    if (!target) return;
    ws.on = name;
    socket = new WebSocket(as(`${target}/api/ws`));
    const mine = socket;
    socket.onopen = () => {
      wsWasOpen = true;
      if (ws.since === null) ws.since = performance.now();
      const msg = { type: "subscribe", topics: [topic] };
      if (since !== null) msg.since = since;
      socket.send(JSON.stringify(msg));
      ws.line.textContent = `connected to ${name}; subscribed${since !== null ? ` with since=${since}` : " (no since)"}`;
      if (wsResume) later(() => reportWs(), 800);
      render();
    };
    socket.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === "event" && msg.event.topic === topic) {
        wsLast = Math.max(wsLast ?? 0, msg.event.id);
        record(ws, msg.event.id);
        renderCounts();
      } else if (msg.type === "reset") tell(`WebSocket reset: ${msg.message ?? m.data}`, "warn");
    };
    socket.onclose = (c) => {
      if (mine !== socket) return;
      socket = null;
      ws.line.textContent = `closed (${c.code}); nothing reconnects unless your code does`;
      ws.line.dataset.closed = String(c.code);
      if (!stopped) tell(`WebSocket: closed (${c.code}) when ${name} went away. It stays closed: reconnecting, and asking for what was missed, is the application's job.`, "warn");
      render();
    };
  }
  function wsReconnect() {
    const to = reconnectTarget();
    if (!to || socket) return;
    const gap = missing(ws);
    const since = sinceBox.checked ? wsLast : null;
    wsResume = { to, gap, since, withSince: sinceBox.checked };
    delete ws.line.dataset.closed;
    wsOpen(to, since);
  }
  function reportWs() {
    if (!wsResume) return;
    const { to, gap, since, withSince } = wsResume;
    wsResume = null;
    const got = new Set(ws.received);
    const recovered = gap.filter((id) => got.has(id));
    const lost = missing(ws).length;
    if (withSince) {
      tell(`The WebSocket client reconnected to ${to} and subscribed with since=${since ?? "none"}: it got ${plural(recovered.length, "event")} (${range(recovered)}) it would have lost without since; ${lost} lost.`, lost ? "warn" : "news");
    } else {
      tell(`The WebSocket client reconnected to ${to} without since: the ${plural(gap.length, "event")} published while it was down (${range(gap)}) are lost for it.`, "warn");
    }
    renderCounts();
  }

  // --- Poller ------------------------------------------------------------
  let cursor = null;
  let pollerFailing = false;
  let pollRound = 0; // a new round of clients starts a new polling loop
  async function pollOnce(round) {
    if (round !== pollRound) return;
    const name = running("B") ? "B" : running("A") ? "A" : null;
    if (name) {
      if (poller.on && poller.on !== name) tell(`The poller now asks ${name}: its cursor (#${cursor}) travels with each request, so any instance can answer.`);
      poller.on = name;
      const q = new URLSearchParams({ topics: topic });
      if (cursor !== null) q.set("since", String(cursor));
      try {
        if (actor === "play") q.set("actor", "play");
        const res = await fetch(`${url(name)}/api/poll?${q}`, { credentials: "include" });
        if (res.status === 200) {
          const body = await res.json();
          for (const e of body.events) record(poller, e.id);
          cursor = body.last_id;
        } else if (res.status === 204 && cursor === null) {
          cursor = Number(res.headers.get("x-last-event-id") ?? 0);
        }
        if (poller.since === null) poller.since = performance.now();
        poller.line.textContent = `asked ${name} for news after #${cursor} (every ${POLL_EVERY_MS / 1000} s)`;
        pollerFailing = false;
      } catch {
        if (!pollerFailing) tell(`The poller's request to ${name} failed; it asks again in ${POLL_EVERY_MS / 1000} s.`, "warn");
        pollerFailing = true;
      }
      renderCounts();
    }
    if (!stopped && clientsStarted) later(() => pollOnce(round), POLL_EVERY_MS);
  }

  // --- Lifecycle -----------------------------------------------------------
  let clientsStarted = false;
  function startClients() {
    clientsStarted = true;
    const home = running("A") ? "A" : "B";
    sseOpen(home, null);
    wsOpen(home, null);
    pollRound += 1;
    pollOnce(pollRound);
    tell(`Clients connected: SSE and WebSocket on ${home}, the poller on B. Publish on either instance and watch every client get it.`);
  }
  function closeClients() {
    clientsStarted = false;
    source?.close();
    source = null;
    const s = socket;
    socket = null;
    s?.close(1000, "done");
    for (const c of [sse, ws, poller]) c.on = null;
  }

  /** Play mode presses a button (or ticks a box) by its label, as play's.
   * A control that is missing or disabled right now (the instances are
   * already up, A is already down) is skipped: the script goes on. */
  async function press(label, { actor: who = "learner" } = {}) {
    const target = [...root.querySelectorAll("button, label")]
      .find((n) => n.textContent.trim() === label || n.textContent.trim().startsWith(label));
    const control = target?.tagName === "LABEL" ? target.querySelector("input") : target;
    if (!control || control.disabled) return tell(`Show me skipped "${label}": not available right now.`);
    actor = who;
    control.click();
    await new Promise((r) => setTimeout(r, 300)); // the action's first request leaves as play's
  }

  poll();
  return {
    press,
    stop() {
      stopped = true;
      auto.checked = false;
      clearTimeout(autoTimer);
      for (const t of timers) clearTimeout(t);
      closeClients();
    },
    get running() { return clientsStarted; },
  };
}

/** "3 instances reported" / "1 instance reported" / "Instances reported" (unknown count). */
function reporting(n) {
  if (typeof n !== "number") return "Instances reported";
  return `${n} ${n === 1 ? "instance" : "instances"} reported`;
}
