// A redis-server of a test's own on a free port, for the tests that run the
// playground with a Redis backplane (the cluster widget, the scaling lesson).

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const hasRedis = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Whether a Redis on `port` accepts a connection and answers PING. */
function answersPing(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1");
    c.once("error", () => resolve(false));
    c.once("data", (d) => { c.destroy(); resolve(d.toString().startsWith("+PONG")); });
    c.once("connect", () => c.write("PING\r\n"));
  });
}

/**
 * Starts redis-server with its files in a fresh temporary folder named
 * after `prefix`; resolves once it answers PING, with its `url` and a
 * `stop()` that kills it and removes the folder.
 */
export async function startRedis(prefix) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir],
    { stdio: "ignore" });
  const stop = () => {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    if (await answersPing(port)) return { url: `redis://127.0.0.1:${port}/`, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  stop();
  throw new Error("redis-server never answered PING");
}
