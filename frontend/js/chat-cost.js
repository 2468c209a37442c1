// What each chat costs, from the learner's own traffic: SSE + POST (the
// chat stream and the POSTs) against the WebSocket. Used by the lab page
// and by lesson 8's chat widget.

import { getJson } from "./api.js";
import { bytes } from "./format.js";

const isChatPost = (e) => e.transport === "api" && e.method === "POST" && (e.path ?? "").split("?")[0] === "/api/chat";
const isChatFrame = (e) => e.transport === "websocket" && e.direction === "up" && e.frame === "text" && /"type"\s*:\s*"chat"/.test(e.preview ?? "");

/** The cost of each way of chatting in `entries` (closed entries repeat totals and are skipped). */
export function chatCost(entries) {
  const counted = entries.filter((e) => e.kind !== "closed");
  const chatStreams = new Set(counted
    .filter((e) => e.transport === "sse" && e.kind === "opened" && e.path?.includes("topics=chat"))
    .map((e) => e.connection));
  const sum = (list) => list.reduce((a, e) => a + e.bytes_up + e.bytes_down, 0);
  const posts = counted.filter(isChatPost);
  const frames = counted.filter(isChatFrame);
  return {
    posts: posts.length,
    bytesPerPost: posts.length ? Math.round(sum(posts) / posts.length) : null,
    sseTotal: sum(counted.filter((e) => (e.transport === "sse" && chatStreams.has(e.connection)) || isChatPost(e))),
    frames: frames.length,
    bytesPerFrame: frames.length ? Math.round(sum(frames) / frames.length) : null,
    wsTotal: sum(counted.filter((e) => e.transport === "websocket")),
  };
}

/** The two ways in one sentence, every number with its unit. */
export function describeChatCost(c) {
  const each = (n) => (n === null ? "" : `, ${bytes(n)} each`);
  return `SSE + POST: ${c.posts} POST${c.posts === 1 ? "" : "s"}${each(c.bytesPerPost)}, ${bytes(c.sseTotal)} on the wire with its stream. `
    + `WebSocket: ${c.frames} chat message${c.frames === 1 ? "" : "s"} sent${each(c.bytesPerFrame)}, ${bytes(c.wsTotal)} on the wire in all.`;
}

/** The lab's line: counted from the moment the page opened, refreshed every 2 s. */
export async function initChatCost(out) {
  const start = (await getJson("/api/traffic?limit=1")).entries.at(-1)?.seq ?? 0;
  const refresh = async () => {
    const log = await getJson(`/api/traffic?since=${start}&limit=10000`);
    out.textContent = describeChatCost(chatCost(log.entries));
  };
  await refresh();
  setInterval(refresh, 2000);
}
