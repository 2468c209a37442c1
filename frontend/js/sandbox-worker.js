// The sandbox a learner's own code runs in: a dedicated Web Worker, so it
// has no page to break and can be ended at any moment (worker.terminate(),
// which also closes every connection it opened). The server sends this
// script with a policy of its own (src/security.rs SANDBOX_WORKER): the code
// is imported from a blob: URL and may only connect to this server.
//
// This prelude runs first and wraps what the code can reach:
// - console.* is posted to the page, cut short and counted;
// - fetch, EventSource and WebSocket accept this server's URLs only, add
//   `actor=play` when play mode runs the code, and count: more than
//   `maxOpen` connections open at once, or `maxRequests` in one run, are
//   refused with an error the code sees and the page reports.
// - show(id, text) is what a chat exercise's code calls to put message `id`
//   on screen: the page lists it and reports it (at most MAX_SHOWN a run).
// The run-time cap is the page's: it terminates this worker.

const post = (type, data) => self.postMessage({ type, ...data });
const MAX_LINES = 500;
let running = false; // one run per worker: a new run gets a new worker
let lines = 0;

function show(level, args) {
  lines += 1;
  if (lines > MAX_LINES) {
    if (lines === MAX_LINES + 1) post("console", { level: "warn", text: `sandbox: more than ${MAX_LINES} console lines; the rest are not shown` });
    return;
  }
  const text = args.map((a) => {
    if (typeof a === "string") return a;
    if (a instanceof Error) return `${a.name}: ${a.message}`;
    try { return JSON.stringify(a); } catch { return String(a); }
  }).join(" ");
  post("console", { level, text: text.length > 500 ? `${text.slice(0, 500)}…` : text });
}

for (const level of ["log", "info", "warn", "error", "debug"]) {
  console[level] = (...args) => show(level === "debug" ? "log" : level, args);
}

const MAX_SHOWN = 500;
let shown = 0;
self.show = (id, text = "") => {
  if (!Number.isSafeInteger(id) || id < 0) {
    show("warn", [`show(id, text): id must be the message's event id (a whole number), not ${JSON.stringify(id)}`]);
    return;
  }
  shown += 1;
  if (shown <= MAX_SHOWN) post("shown", { id, text: String(text).slice(0, 200) });
};

self.addEventListener("error", (e) => post("crash", { text: e.message }));
self.addEventListener("unhandledrejection", (e) => post("crash", { text: `unhandled: ${e.reason?.message ?? e.reason}` }));

/** Counts what the code opens, and refuses past the caps. */
class Caps {
  constructor({ maxOpen, maxRequests, actor }) {
    Object.assign(this, { maxOpen, maxRequests, actor, open: 0, requests: 0, refused: 0 });
  }

  /** The absolute URL for `url`, or an error when it leaves this server. */
  url(url, schemes) {
    const u = new URL(String(url), self.location.origin);
    const sameHost = u.host === self.location.host;
    if (!sameHost || !schemes.includes(u.protocol)) {
      throw new TypeError(`sandbox: only this server can be reached from here, not ${u.origin}`);
    }
    if (this.actor === "play") u.searchParams.set("actor", "play");
    return u.href;
  }

  /** Takes a slot for one more connection or request; throws past a cap. */
  take(what) {
    if (this.requests >= this.maxRequests || this.open >= this.maxOpen) {
      this.refused += 1;
      const why = this.requests >= this.maxRequests
        ? `${this.maxRequests} requests and connections in one run`
        : `${this.maxOpen} open at once`;
      post("cap", { what, why, refused: this.refused });
      throw new Error(`sandbox: ${what} refused: the cap is ${why}`);
    }
    this.requests += 1;
    this.open += 1;
    post("count", { open: this.open, requests: this.requests });
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.open -= 1;
      post("count", { open: this.open, requests: this.requests });
    };
  }
}

function wrap(caps) {
  const realFetch = self.fetch.bind(self);
  self.fetch = async (input, init) => {
    const target = caps.url(input instanceof Request ? input.url : input, ["http:", "https:"]);
    const release = caps.take(`fetch ${new URL(target).pathname}`);
    try {
      const res = await realFetch(input instanceof Request ? new Request(target, input) : target, init);
      // The body is read later: hold the slot until it is (or a while).
      const body = res.clone();
      body.arrayBuffer().then(release, release);
      return res;
    } catch (err) {
      release();
      throw err;
    }
  };

  const RealEventSource = self.EventSource;
  self.EventSource = class extends RealEventSource {
    constructor(url, options) {
      const target = caps.url(url, ["http:", "https:"]);
      const release = caps.take(`EventSource ${new URL(target).pathname}`);
      super(target, options);
      this.addEventListener("error", () => { if (this.readyState === RealEventSource.CLOSED) release(); });
      const close = this.close.bind(this);
      this.close = () => { close(); release(); };
    }
  };

  const RealWebSocket = self.WebSocket;
  self.WebSocket = class extends RealWebSocket {
    constructor(url, protocols) {
      const target = caps.url(url, ["ws:", "wss:"]);
      const release = caps.take(`WebSocket ${new URL(target).pathname}`);
      super(target, protocols);
      this.addEventListener("close", release);
    }
  };
}

// The page pings once a second: a pong that does not come means the code
// holds the thread (a loop that never awaits), and the page ends the run.
self.addEventListener("message", (e) => { if (e.data?.type === "ping") post("pong", {}); });

self.addEventListener("message", async (e) => {
  if (e.data?.type !== "run" || running) return;
  const { code, maxOpen = 8, maxRequests = 200, actor = "learner" } = e.data ?? {};
  if (typeof code !== "string") return;
  running = true;
  wrap(new Caps({ maxOpen, maxRequests, actor }));
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  try {
    const module = await import(url);
    post("started", {});
    if (typeof module.main === "function") await module.main();
  } catch (err) {
    post("crash", { text: `${err.name}: ${err.message}` });
  } finally {
    URL.revokeObjectURL(url);
  }
});

post("ready", {});
