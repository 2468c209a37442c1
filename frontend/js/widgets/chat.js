import { button, codeBox, el, messageLog, postJson } from "./kit.js";

// The same chat twice: SSE to receive + POST to send, and one WebSocket.
const SSE_CODE = `// Receive: one EventSource, reconnects by itself.
const source = new EventSource("/api/sse?topics=chat");
source.addEventListener("chat", (m) => show(JSON.parse(m.data).data));
// Send: a plain POST.
fetch("/api/chat", { method: "POST", headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ text }) });`;

const WS_CODE = `const ws = new WebSocket(\`ws://\${location.host}/api/ws\`);
ws.onmessage = (m) => { const msg = JSON.parse(m.data); if (msg.type === "chat") show(msg); };
ws.send(JSON.stringify({ type: "chat", text }));
// Missing here, and yours to write: reconnect with backoff, heartbeats,
// resubscribe and catch up after a drop.`;

export function mount(root) {
  const sseLog = messageLog("Chat over SSE + POST");
  const wsLog = messageLog("Chat over WebSocket");
  const sseInput = el("input", { type: "text", value: "hello over SSE", "aria-label": "Chat text (SSE + POST)", class: "grow" });
  const wsInput = el("input", { type: "text", value: "hello over a WebSocket", "aria-label": "Chat text (WebSocket)", class: "grow" });
  const source = new EventSource("/api/sse?topics=chat");
  source.addEventListener("chat", (m) => {
    const { from, text } = JSON.parse(m.data).data;
    sseLog.add(`← ${from}: ${text}`, "news");
  });
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/ws`);
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "chat") wsLog.add(`← ${msg.from}: ${msg.text}`, "news");
  };
  const sendSse = async () => {
    await postJson("/api/chat", { text: sseInput.value });
    sseLog.add(`→ POST ${sseInput.value}`, "sent");
  };
  const sendWs = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "chat", text: wsInput.value }));
    wsLog.add(`→ ${wsInput.value} (others see it; the sender gets an ack)`, "sent");
  };
  root.append(el("div", { class: "chat-grid" },
    el("section", {}, el("h4", { text: "SSE + POST" }), el("div", { class: "widget-controls" }, sseInput, button("Send", sendSse)), sseLog.node, codeBox(SSE_CODE)),
    el("section", {}, el("h4", { text: "WebSocket" }), el("div", { class: "widget-controls" }, wsInput, button("Send", sendWs)), wsLog.node, codeBox(WS_CODE))));
  return { stop: () => { source.close(); ws.close(1000, "done"); } };
}
