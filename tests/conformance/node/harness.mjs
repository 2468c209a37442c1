// The suite's server and the helpers every test file shares: the debug
// binary (PLAYGROUND_BIN overrides the path) started with --port 0
// --feeds-paused and a short `retry:`, plain or (CONFORMANCE_TLS=1) with
// --tls, every request through Node's fetch or, over TLS, undici's with
// HTTP/2 allowed. Every wait is bounded by PATIENCE so a bug fails instead of
// hanging.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { Agent, fetch as undiciFetch } from "undici";

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN =
  process.env.PLAYGROUND_BIN ??
  path.resolve(here, "../../../target/debug/realtime-playground");
export const RETRY_MS = 50;
export const PATIENCE = 10_000;

export const TLS = process.env.CONFORMANCE_TLS === "1";
let server;
let dataDir;
/** The server's origin (`https://localhost:<port>` over TLS). */
export let base;
/** The server's port. */
export let port;
/** Every request of the suite: Node's fetch, or over TLS undici's with HTTP/2 allowed. */
export let request = fetch;
/** The certificate the client trusts over TLS. */
export let ca;

/** Starts the server before the file's tests and stops it after them. */
export function useServer() {
  before(async () => {
    // The 500-event feed is published from this one address as fast as the
    // server answers: the publish limits are not what this suite checks.
    const unlimited = ["--publish-rate-per-learner", "--publish-rate-per-address", "--publish-rate-total"].flatMap((f) => [f, "1000000"]);
    if (TLS) dataDir = mkdtempSync(path.join(tmpdir(), "playground-conformance-"));
    const keeping = TLS ? ["--tls", "--data-dir", dataDir] : ["--ephemeral"];
    server = spawn(BIN, ["--port", "0", "--feeds-paused", ...keeping, "--sse-retry-ms", String(RETRY_MS), ...unlimited], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, RUST_LOG: "warn" },
    });
    const lines = createInterface({ input: server.stdout });
    port = await within(
      new Promise((resolve, reject) => {
        server.once("exit", (code) => reject(new Error(`server exited early (${code})`)));
        lines.on("line", (line) => {
          const m = /^realtime-playground is running on port (\d+)$/.exec(line);
          if (m) resolve(Number(m[1]));
        });
      }),
      "the server's port line",
    );
    if (TLS) {
      // The certificate is written before the port line is printed.
      ca = readFileSync(path.join(dataDir, "tls", "localhost-cert.pem"));
      const agent = new Agent({ connect: { ca }, allowH2: true });
      request = (url, init = {}) => undiciFetch(url, { ...init, dispatcher: agent });
      base = `https://localhost:${port}`; // the name the certificate is for
    } else {
      base = `http://127.0.0.1:${port}`;
    }
  });

  after(async () => {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await once(server, "exit");
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
}

/** Over TLS: the server logged `learner`'s SSE requests as HTTP/2 (ALPN chose h2). */
export async function assertProtocol(learner) {
  if (!TLS) return;
  const res = await request(`${base}/api/traffic?limit=500`, { headers: { "X-Learner": learner } });
  const { entries } = await res.json();
  const streams = entries.filter((e) => e.transport === "sse" && e.kind === "opened");
  assert.ok(streams.length > 0, "the streams are in the log");
  assert.deepEqual([...new Set(streams.map((e) => e.protocol))], ["h2"], "every stream over HTTP/2");
}

/** Rejects if `promise` takes longer than PATIENCE. */
export function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), PATIENCE);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `predicate()` holds, re-checked whenever `emitter` fires `type`. */
export function until(emitter, types, predicate, what) {
  if (predicate()) return Promise.resolve();
  return within(
    new Promise((resolve) => {
      const check = () => {
        if (predicate()) {
          for (const t of types) emitter.removeEventListener(t, check);
          resolve();
        }
      };
      for (const t of types) emitter.addEventListener(t, check);
    }),
    what,
  );
}

export async function post(pathname, body, learner) {
  const res = await request(base + pathname, {
    method: "POST",
    headers: { "content-type": "application/json", ...(learner ? { "X-Learner": learner } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  return { status: res.status, json };
}

export async function publish(topic, i) {
  const { status, json } = await post("/api/events", { topic, type: "tick", data: { i } });
  assert.equal(status, 202);
  return json.id;
}


/** The server's origin as seen through another port (a proxy's). */
export function originAt(otherPort) {
  return base.replace(`:${port}`, `:${otherPort}`);
}
