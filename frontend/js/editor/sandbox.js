// Runs a learner's code in a fresh Web Worker (frontend/js/sandbox-worker.js)
// and ends it: when the code finishes nothing (runs out its time cap), when
// the learner presses Stop, or when the code holds the thread so long that
// it cannot answer a ping (a loop that never awaits). Ending is
// worker.terminate(): the browser closes every connection the code opened.

export const WORKER_URL = "/js/sandbox-worker.js";

/** Why a run ended. */
export const Ended = Object.freeze({
  Stopped: "stopped",
  TimeUp: "time-up",
  Frozen: "frozen",
  Replaced: "replaced",
});

const FROZEN_AFTER_MS = 3000;

export class Sandbox {
  /**
   * onMessage({ type, level, text, … }) gets the worker's console lines,
   * caps and counts; `limits`: { runMs, maxOpen, maxRequests }.
   */
  constructor({ onMessage, limits = {} }) {
    this.onMessage = onMessage;
    this.limits = { runMs: 60000, maxOpen: 8, maxRequests: 200, ...limits };
    this.worker = null;
    this.finish = null;
  }

  get running() { return this.worker !== null; }

  /** Runs `code`; resolves with an {@link Ended} value when the run is over. */
  run(code, { actor = "learner", runMs = this.limits.runMs } = {}) {
    this.end(Ended.Replaced);
    const worker = new Worker(WORKER_URL, { type: "module", name: "your code" });
    this.worker = worker;
    let lastPong = performance.now();
    const done = new Promise((resolve) => { this.finish = resolve; });
    worker.addEventListener("message", (e) => {
      if (e.data?.type === "pong") lastPong = performance.now();
      else this.onMessage(e.data);
    });
    worker.addEventListener("error", (e) => {
      e.preventDefault();
      this.onMessage({ type: "crash", text: e.message || "the code could not be loaded" });
    });
    const timers = [
      setTimeout(() => this.end(Ended.TimeUp), runMs),
      setInterval(() => {
        if (performance.now() - lastPong > FROZEN_AFTER_MS) this.end(Ended.Frozen);
        else worker.postMessage({ type: "ping" });
      }, 1000),
    ];
    this.clear = () => timers.forEach((t) => { clearTimeout(t); clearInterval(t); });
    worker.postMessage({ type: "run", code, actor, maxOpen: this.limits.maxOpen, maxRequests: this.limits.maxRequests });
    return done;
  }

  stop() { this.end(Ended.Stopped); }

  end(why) {
    if (!this.worker) return;
    this.worker.terminate();
    this.worker = null;
    this.clear();
    this.finish?.(why);
    this.finish = null;
  }
}
