// The scaling lesson's cluster: two more instances of this server (A and B)
// sharing its Redis, an SSE client and a WebSocket client on A and a poller
// on B, all in this page. Kill A and watch: the SSE client moves to B and
// resumes from its last id, the WebSocket just closes until you reconnect it
// (and ask for what it missed), the poller never notices.

import { sendJson } from "../api.js";
import { actorQuery } from "../clients.js";
import { button, codeBox, el, LogKind, messageLog } from "./kit.js";
import { clusterPoller, POLL_EVERY_MS, sseMover, wsClient } from "./cluster/clients.js";
import { instanceCards, Instances, NAMES, renderCards, reporting } from "./cluster/instances.js";
import { ClientTally, Published } from "./cluster/tally.js";

const CODE = `// The lessons' own clients (clients/sse.js, ws.js, poll.js), pointed at instance B.

// SSE: resuming is part of the protocol. EventSource retries the SAME URL with
// a Last-Event-ID header; behind a load balancer that URL reaches a live instance.
// Here there is none, so the widget moves to the other instance itself:
onStatus = (what) => {
  if (what !== "reconnecting" && what !== "closed for good") return;
  source.close();
  setTimeout(() => {
    source = openStream({ base: B, since: lastId, query: \`topics=\${topic}\`, onEvent, onStatus });
  }, retryMs);                               // the server's retry: value
};

// WebSocket: nothing reconnects unless your code does, and nothing is resent
// unless your code asks for it (this server's subscribe takes "since").
onClose = (code) => show(\`closed (\${code})\`);
reconnect = () => connect({ base: B, topics: [topic], since: lastId, onMessage, onClose });

// Polling: the cursor travels with every request, so any instance can answer.
poller.base = B;`;

const STATUS_EVERY_MS = 1500;
const PUBLISH_EVERY_MS = 1000;
/** How long play mode's press waits, so the action's first request leaves as play's. */
const PRESS_SETTLE_MS = 300;

export function mount(root) {
  const topic = `cluster-${Math.random().toString(16).slice(2, 8)}`;
  // Who acts: play mode's presses ("show me") mark what follows as play's
  // (actor=play on every URL to the instances) until the learner clicks.
  let actor = "learner";
  // The learner's own click takes over clients "show me" connected, so what
  // they do next counts as theirs.
  root.addEventListener("click", (e) => {
    if (!e.isTrusted || actor === "learner") return;
    actor = "learner";
    if (clientsStarted) { closeClients(); startClients(); }
  }, true);
  const instances = new Instances();
  let stopped = false;
  const timers = new Set();
  const later = (fn, ms) => {
    const t = setTimeout(() => { timers.delete(t); if (!stopped) fn(); }, ms);
    timers.add(t);
  };
  const published = new Published();

  const say = messageLog("What happened, newest first");
  const tell = (sentence, kind = LogKind.plain) => say.add(sentence, kind);
  const headline = el("p", { class: "widget-status small", "aria-live": "polite", text: "Asking the server about its cluster lab…" });
  const hint = el("div", { class: "cluster-hint", hidden: "" });
  const startBtn = button("Start two instances", () => startCluster());
  const stopAllBtn = button("Stop both", () => stopCluster(), "ghost");
  stopAllBtn.disabled = true;
  const cards = instanceCards((name) => toggleInstance(name));

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
        const target = instances.running("A") ? "A" : instances.running("B") ? "B" : null;
        if (target) publish(target, { quiet: true });
        autoTimer = setTimeout(tick, PUBLISH_EVERY_MS);
      };
      tick();
    } else clearTimeout(autoTimer);
  });

  // --- The three clients -------------------------------------------------
  const sse = new ClientTally("sse", "SSE client", published);
  const ws = new ClientTally("ws", "WebSocket client", published);
  const poller = new ClientTally("poll", "Poller", published);
  const tallies = [sse, ws, poller];
  const renderCounts = () => tallies.forEach((t) => t.render());
  const c = {
    topic,
    instances,
    actorQuery: () => actorQuery(actor),
    tell,
    later,
    stopped: () => stopped,
    render: () => render(),
    renderCounts,
  };
  const sinceBox = el("input", { type: "checkbox", checked: "", id: `since-${topic}` });
  const sseClient = sseMover(c, sse);
  const wsConn = wsClient(c, ws, { withSince: () => sinceBox.checked });
  const pollClient = clusterPoller(c, poller);

  const reconnectBtn = button("Reconnect", () => wsConn.reconnect(), "");
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

  // --- Cluster status ----------------------------------------------------
  function render() {
    const status = instances.status;
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
    const started = instances.started;
    startBtn.disabled = started;
    stopAllBtn.disabled = !started;
    headline.textContent = started
      ? `Two instances share Redis (${status.redis_url}). ${reporting(status.backplane.instances)} to it in the last few seconds, this server included.`
      : `Ready: both instances will use ${status.redis_url}, as this server does.`;
    renderCards(cards, instances);
    pubA.disabled = !instances.running("A");
    pubB.disabled = !instances.running("B");
    auto.disabled = !started;
    if (started && !clientsStarted) startClients();
    pollClient.aim();
    reconnectBtn.textContent = `Reconnect to ${wsConn.target() ?? "…"}`;
    reconnectBtn.disabled = !wsConn.closedByLoss || !wsConn.target();
    renderCounts();
  }
  async function watchStatus() {
    if (await instances.refresh()) render();
    if (!stopped) later(watchStatus, STATUS_EVERY_MS);
  }
  async function lab(method, path) {
    await instances.act(method, path);
    render();
  }

  async function startCluster() {
    startBtn.disabled = true;
    headline.textContent = "Starting A and B (each is this same program on its own port; about 2 s each)…";
    try {
      await lab("POST", "/api/lab/cluster");
      tell(`A listens on port ${instances.inst("A").port}, B on port ${instances.inst("B").port}; both share one event stream through Redis.`);
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
    const card = cards[name];
    card.toggle.disabled = true;
    try {
      if (instances.running(name)) {
        await lab("POST", `/api/lab/cluster/${name}/stop`);
        tell(`Instance ${name} was killed (SIGKILL): like a crash, no close frames, no goodbye.`, LogKind.warn);
      } else {
        card.state.textContent = "starting…";
        await lab("POST", `/api/lab/cluster/${name}/start`);
        tell(`Instance ${name} is back, on port ${instances.inst(name).port}. The clients stay where they are.`);
      }
    } catch (err) {
      tell(err.message, LogKind.warn);
    }
    render();
  }

  async function publish(name, { quiet = false } = {}) {
    const target = instances.url(name);
    if (!target) return;
    const at = performance.now();
    try {
      const body = await sendJson("POST", `${target}/api/events`,
        { topic, type: "note", data: { text: text.value, on: name } }, { actor, credentials: "include" });
      published.add(body.id, name, at);
      if (!quiet) tell(`Published #${body.id} on ${name}.`);
    } catch (err) {
      tell(`Publishing on ${name} failed: ${err.message}.`, LogKind.warn);
    }
    renderCounts();
  }

  // --- Lifecycle -----------------------------------------------------------
  let clientsStarted = false;
  function startClients() {
    clientsStarted = true;
    const home = instances.running("A") ? "A" : "B";
    sseClient.open(home, null);
    wsConn.open(home, null);
    pollClient.start();
    tell(`Clients connected: SSE and WebSocket on ${home}, the poller on B. Publish on either instance and watch every client get it.`);
  }
  function closeClients() {
    clientsStarted = false;
    sseClient.close();
    wsConn.close();
    pollClient.close();
  }

  // Play mode's words for the controls (a lesson's `press Kill A`): each
  // gives the control it means now, or null when that one is not on screen.
  const PLAY_CONTROLS = {
    "Start two instances": () => startBtn,
    "Stop both": () => stopAllBtn,
    "Publish on A": () => pubA,
    "Publish on B": () => pubB,
    "keep publishing": () => auto,
    Reconnect: () => reconnectBtn,
    ...Object.fromEntries(NAMES.flatMap((name) => {
      const down = () => instances.inst(name)?.state === "stopped";
      return [[`Kill ${name}`, () => (down() ? null : cards[name].toggle)],
        [`Restart ${name}`, () => (down() ? cards[name].toggle : null)]];
    })),
  };

  /** Play mode presses a control by its label, as play's. A control that is
   * not available right now (the instances are already up, A is already
   * down) is skipped: the script goes on. */
  async function press(label, { actor: who = "learner" } = {}) {
    const find = PLAY_CONTROLS[label];
    if (!find) throw new Error(`the cluster widget has no control "${label}"`);
    const control = find();
    if (!control || control.disabled) return tell(`Show me skipped "${label}": not available right now.`);
    actor = who;
    pollClient.aim();
    control.click();
    await new Promise((r) => setTimeout(r, PRESS_SETTLE_MS));
  }

  watchStatus();
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
