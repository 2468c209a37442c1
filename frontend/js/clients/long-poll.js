// Long-polling, the whole client: ask, and the server holds the request
// until there is news or its timeout passes; then ask again at once.
//
// The first ask has no `since` (unless you give one), so it waits for the
// next new event. Every later ask sends the newest id seen. An error (the
// server down, a 503) waits `retryMs` before the next ask, so a broken
// server is not hammered.

export const file = import.meta.url; // the widget shows this very file

export function createLongPoller({ since: from = null, timeoutS = null, retryMs = 2000, query = "", onAnswer = console.log } = {}) {
  let controller = null;

  async function loop(signal) {
    let since = from;
    while (!signal.aborted) {
      const params = new URLSearchParams(query);
      if (timeoutS !== null) params.set("timeout", timeoutS);   // else the server's default (25 s)
      if (since !== null) params.set("since", since);
      try {
        onAnswer({ waiting: true, since });
        const res = await fetch(`/api/long-poll?${params}`, { signal });
        if (!res.ok) throw new Error(`the server answered ${res.status}`);
        const newest = res.headers.get("X-Last-Event-Id");
        if (newest !== null) since = Number(newest);
        if (res.status === 200) {                   // news, or catch-up
          const batch = await res.json();
          since = batch.last_id;
          onAnswer({ events: batch.events, more: batch.more, since });
        } else {                                    // 204: the timeout passed
          onAnswer({ events: [], more: false, since });
        }
      } catch (err) {
        if (signal.aborted) break;
        onAnswer({ error: err.message, retryMs, since });
        await new Promise((r) => setTimeout(r, retryMs));
      }
    }
  }

  return {
    get running() { return controller !== null; },
    start() {
      if (controller) return;
      controller = new AbortController();
      loop(controller.signal);
    },
    stop() { controller?.abort(); controller = null; },
  };
}

// Run on its own (the editor's Run button): log every answer.
export function main() {
  createLongPoller().start();
}
