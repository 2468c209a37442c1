// A TCP proxy in front of the server that cuts every connection after a
// random lifetime, as a flaky network, a phone changing cells or a load
// balancer's timeout does. It forwards bytes as they are (TLS included) and
// can hold the next connection until the test lets it through, so events can
// be published while the client is certainly away.

import net from "node:net";

/**
 * Listens on a free loopback port and forwards to `targetPort`. Each
 * connection is cut (both sides destroyed) after a lifetime drawn uniformly
 * from `lifetimeMs` = [min, max].
 */
export async function cuttingProxy(targetPort, { lifetimeMs: [min, max] }) {
  const links = new Set();
  const stats = { connections: 0, cuts: 0 };
  let held = null; // { promise, release } while the next connections wait

  const server = net.createServer(async (client) => {
    client.pause(); // what the client sends waits for the upstream
    stats.connections++;
    if (held) await held.promise;
    if (client.destroyed) return;
    const upstream = net.connect(targetPort, "127.0.0.1");
    const link = { client, upstream, timer: null };
    links.add(link);
    const close = () => {
      clearTimeout(link.timer);
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    link.timer = setTimeout(() => {
      stats.cuts++;
      close();
    }, min + Math.random() * (max - min));
    for (const socket of [client, upstream]) {
      socket.on("error", close);
      socket.on("close", close);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));

  return {
    port: server.address().port,
    stats,
    /** New connections wait until `release()`. */
    holdNext() {
      let release;
      const promise = new Promise((resolve) => (release = resolve));
      held = { promise, release };
    },
    release() {
      held?.release();
      held = null;
    },
    async close() {
      this.release();
      for (const { client, upstream, timer } of links) {
        clearTimeout(timer);
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
