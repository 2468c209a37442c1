// Short polling, the whole client: ask "any update since #N?", wait one
// interval after the answer, ask again.
//
// The first ask (`from=newest`) only learns the newest event id, so nothing
// old shows up as news. Every later ask sends the newest id seen as `since`:
// the server answers 200 with the newer events, or 204 "No." with the newest
// id in the X-Last-Event-Id header. `more: true` in a batch means the server
// held events back over its limit; the next ask brings them.
//
// `since` starts from a known id instead of "now". `base` asks another
// server (the scaling lesson's instances; it may change between asks:
// the cursor travels with every request, so any instance can answer), and
// `credentials: "include"` sends the cookie there too.

export const file = import.meta.url; // the widget shows this very file

export function createPoller({ since: from = null, base = "", everyMs = 1000, query = "", credentials = "same-origin", onAnswer = console.log } = {}) {
  let since = from;
  let timer = null;

  async function poll() {
    const url = since === null ? `${poller.base}/api/poll?from=newest` : `${poller.base}/api/poll?since=${since}`;
    const q = poller.query;
    const res = await fetch(q ? `${url}&${q}` : url, { credentials });   // "Any update?"
    if (!res.ok) throw new Error(`the server answered ${res.status}`);
    const newest = res.headers.get("X-Last-Event-Id");
    if (newest !== null) since = Number(newest);
    if (res.status === 200) {                       // "Yes": events in the body
      const batch = await res.json();
      since = batch.last_id;
      onAnswer({ events: batch.events, more: batch.more, since });
    } else {                                        // 204: "No."
      onAnswer({ events: [], more: false, since });
    }
  }
  const pollOnce = () => poll().catch((err) => onAnswer({ error: err.message, since }));

  async function tick() {
    await pollOnce();
    if (timer !== null) timer = setTimeout(tick, poller.everyMs);
  }

  const poller = {
    everyMs,
    base,
    query,
    pollOnce,
    get running() { return timer !== null; },
    start() {
      if (timer !== null) return;
      since = from;                                 // null: start from "now"
      timer = setTimeout(tick, 0);
    },
    stop() { clearTimeout(timer); timer = null; },
  };
  return poller;
}

// Run on its own (the editor's Run button): log every answer.
export function main() {
  createPoller().start();
}
