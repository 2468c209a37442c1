// What each chat costs, from the learner's own traffic since the page opened:
// SSE + POST (the chat stream and the POSTs) against the WebSocket.

import { bytes } from "./format.js";

export async function initChatCost(out) {
  const start = (await (await fetch("/api/traffic?limit=1")).json()).entries.at(-1)?.seq ?? 0;
  const refresh = async () => {
    const log = await (await fetch(`/api/traffic?since=${start}&limit=10000`)).json();
    const chatStreams = new Set(log.entries
      .filter((e) => e.transport === "sse" && e.kind === "opened" && e.path?.includes("topics=chat"))
      .map((e) => e.connection));
    const counted = (e) => e.kind !== "closed";
    const sse = log.entries.filter((e) => counted(e) && (
      (e.transport === "sse" && chatStreams.has(e.connection))
      || (e.transport === "api" && e.method === "POST" && e.path === "/api/chat")));
    const ws = log.entries.filter((e) => counted(e) && e.transport === "websocket");
    const total = (list) => list.reduce((a, e) => a + e.bytes_up + e.bytes_down, 0);
    const posts = sse.filter((e) => e.transport === "api").length;
    const wsSent = ws.filter((e) => e.direction === "up" && e.frame === "text").length;
    out.textContent = `SSE + POST: ${posts} POST${posts === 1 ? "" : "s"} and 1 stream, ${bytes(total(sse))} on the wire. `
      + `WebSocket: ${wsSent} message${wsSent === 1 ? "" : "s"} sent over 1 connection, ${bytes(total(ws))} on the wire.`;
  };
  await refresh();
  setInterval(refresh, 2000);
}
