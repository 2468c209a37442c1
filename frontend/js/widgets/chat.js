// The same chat twice: SSE to receive + POST to send, and one WebSocket.
// Both read the `chat` topic, where every message lands whichever way it
// was sent, so each side shows every message exactly once, its own
// included. Nothing connects until the learner opens a side.

import { getJson } from "../api.js";
import { actorQuery } from "../clients.js";
import { chatCost, describeChatCost } from "../chat-cost.js";
import { file as sseFile, openChat, sendChat } from "../clients/chat-sse.js";
import { connectChat, file as wsFile, say as sayOverWs } from "../clients/chat-ws.js";
import { button, el, LogKind, messageLog, sourceBox, status } from "./kit.js";

const plural = (n, one) => `${n} ${one}${n === 1 ? "" : "s"}`;

export function mount(root) {
  let costFrom = null; // traffic seq when the learner first acted here
  let costTimer = null;
  const cost = el("p", { class: "chat-cost small", "aria-live": "off", text: "Open a side and send a message: the cost of each way shows here." });

  function side(name, title, openText, closeText) {
    const log = messageLog(`Chat messages received over ${title}`);
    const state = status("closed");
    const input = el("input", { type: "text", value: `hello over ${name === "sse" ? "SSE" : "a WebSocket"}`, maxlength: "1000", "aria-label": `Chat text (${title})`, class: "grow", "data-action": "chat-text", "data-side": name });
    const toggle = button(openText, () => (api.running ? api.stop() : api.start()));
    toggle.dataset.client = name;
    toggle.setAttribute("aria-pressed", "false");
    const send = button("Send", () => say(input.value));
    send.dataset.action = "chat-send";
    send.dataset.side = name;
    input.addEventListener("keydown", (e) => { if (e.key === "Enter") say(input.value); });
    const seen = new Set();
    const show = (id, data) => {
      if (seen.has(id)) return;
      seen.add(id);
      log.add(`${data.from}: ${data.text}`, LogKind.news);
      state.textContent = `open · ${plural(seen.size, "message")} shown`;
    };
    // `actor`: who opened this side's connection ("play" when show me did).
    const api = { running: false, actor: "learner" };
    const render = () => {
      toggle.textContent = api.running ? closeText : openText;
      toggle.setAttribute("aria-pressed", String(api.running));
    };
    let say = () => {};
    const node = el("section", { "aria-label": title },
      el("h4", { text: title }),
      el("div", { class: "widget-controls" }, toggle),
      el("div", { class: "widget-controls" }, input, send),
      state, log.node);
    return { api, render, show, state, log, node, setSay: (fn) => { say = fn; } };
  }

  // --- SSE + POST ----------------------------------------------------------
  const sse = side("sse", "SSE + POST", "Open the stream", "Close the stream");
  let source = null;
  sse.api.start = ({ actor = "learner" } = {}) => {
    if (source) return;
    const s = openChat({
      query: actorQuery(actor),
      onMessage: (data, id) => sse.show(id, data),
      onStatus: (what) => {
        sse.state.textContent = {
          open: "open: every chat message arrives here",
          "closed for good": "closed by an error answer: EventSource gives up, open it again",
          reconnecting: "connection lost; the browser reconnects with Last-Event-ID…",
        }[what] ?? what;
      },
    });
    source = s;
    sse.api.running = true;
    sse.api.actor = actor;
    sse.state.textContent = "connecting…";
    sse.render();
    acted();
  };
  sse.api.stop = () => {
    source?.close();
    source = null;
    sse.api.running = false;
    sse.state.textContent = "closed";
    sse.render();
  };
  const postChat = async (text, actor = "learner") => {
    try {
      const r = await sendChat(text, { query: actorQuery(actor) });
      sse.state.textContent = `sent with POST /api/chat → 202, event #${r.id}${source ? "" : " (open the stream to see it arrive)"}`;
    } catch (err) {
      sse.log.add(`not sent: ${err.message}`, LogKind.warn);
    }
    acted();
  };
  // The learner's own send takes over a side "show me" opened, so what
  // follows is theirs.
  sse.setSay((text) => {
    if (sse.api.running && sse.api.actor === "play") {
      sse.api.stop();
      sse.api.start();
    }
    return postChat(text);
  });

  // --- WebSocket -------------------------------------------------------------
  const ws = side("ws", "WebSocket", "Connect", "Disconnect");
  let socket = null;
  let opened = null;
  ws.api.start = ({ actor = "learner" } = {}) => {
    if (socket) return;
    const s = connectChat({
      query: actorQuery(actor),
      onOpen: () => { ws.state.textContent = "open and subscribed to the chat topic"; },
      onMessage: (data, id) => {
        if (id === null) ws.log.add(`error: ${data.text}`, LogKind.warn);
        else ws.show(id, data);
      },
      onClose: (code) => {
        if (socket !== s && socket !== null) return; // a newer socket is open
        socket = null;
        ws.api.running = false;
        ws.state.textContent = `closed (${code}); nothing reconnects unless your code does`;
        ws.render();
      },
    });
    socket = s;
    ws.api.running = true;
    ws.api.actor = actor;
    ws.state.textContent = "connecting…";
    opened = new Promise((resolve) => s.addEventListener("open", resolve, { once: true }));
    ws.render();
    acted();
  };
  ws.api.stop = () => {
    socket?.close(1000, "done");
    socket = null;
    ws.api.running = false;
    ws.state.textContent = "closed (1000); nothing reconnects unless your code does";
    ws.render();
  };
  ws.api.ready = () => opened ?? Promise.resolve();
  ws.api.send = (text) => socket?.readyState === WebSocket.OPEN && socket.send(text);
  const wsChat = async (text) => {
    if (socket?.readyState !== WebSocket.OPEN) {
      ws.state.textContent = "not connected: press Connect first";
      return;
    }
    sayOverWs(socket, text);
    acted();
  };
  ws.setSay(async (text) => {
    if (ws.api.running && ws.api.actor === "play") {
      ws.api.stop();
      ws.api.start();
      await Promise.race([ws.api.ready(), new Promise((r) => setTimeout(r, 3000))]);
    }
    return wsChat(text);
  });

  // --- What each costs ---------------------------------------------------------
  async function acted() {
    if (costFrom === null) {
      costFrom = -1;
      try {
        costFrom = (await getJson("/api/traffic?limit=1")).entries.at(-1)?.seq ?? 0;
      } catch {
        costFrom = 0;
      }
      costTimer = setInterval(refreshCost, 2000);
    }
  }
  async function refreshCost() {
    if (costFrom < 0) return;
    try {
      const log = await getJson(`/api/traffic?since=${costFrom}&limit=10000`);
      cost.textContent = describeChatCost(chatCost(log.entries));
    } catch {
      // The next refresh tries again.
    }
  }

  root.append(
    el("div", { class: "chat-grid" },
      el("div", {}, sse.node, sourceBox(sseFile)),
      el("div", {}, ws.node, sourceBox(wsFile))),
    cost);

  return {
    clients: { sse: sse.api, ws: ws.api },
    async chat(which, text, { actor = "learner" } = {}) {
      if (which === "sse") return postChat(text, actor);
      if (socket?.readyState !== WebSocket.OPEN || ws.api.actor !== actor) {
        ws.api.stop();
        ws.api.start({ actor });
        await Promise.race([ws.api.ready(), new Promise((r) => setTimeout(r, 3000))]);
      }
      return wsChat(text);
    },
    stopClients: () => {
      sse.api.stop();
      ws.api.stop();
    },
    stop: () => {
      clearInterval(costTimer);
      sse.api.stop();
      ws.api.stop();
    },
  };
}
