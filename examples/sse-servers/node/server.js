// The lesson's SSE server in Node: the http module, no dependencies.
//
//     node server.js --port 3000      # then: curl -N localhost:3000/sse
//
// --port 0 picks a free port; the first line printed names the URL.
const http = require("node:http");
const KEPT = 1000;          // the replay buffer holds this many events
const events = [];
const streams = new Set();  // open SSE responses
let newest = Date.now();    // ids start at the clock: a restart never reuses an id
const frame = (e) => `id: ${e.id}\nevent: note\ndata: ${JSON.stringify(e.data)}\n\n`;

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/events") {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      let data;
      try { data = JSON.parse(body || "{}"); } catch { return res.writeHead(400).end(); }
      const e = { id: ++newest, data };
      events.push(e);
      if (events.length > KEPT) events.shift();
      for (const s of streams) s.write(frame(e));
      res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ id: e.id }));
    });
  } else if (req.method === "GET" && req.url === "/sse") {
    const raw = req.headers["last-event-id"] ?? "";
    const last = /^\d+$/.test(raw) ? Number(raw) : null;   // garbled: no resume point, no error
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("retry: 2000\n\n");
    if (last !== null) {
      const oldest = events.length ? events[0].id : newest + 1;
      const lost = last > newest || last < oldest - 1;     // another run's id, or out of the buffer
      if (lost) res.write('event: reset\ndata: {"message":"events were lost; reload"}\n\n');
      for (const e of events) if (lost || e.id > last) res.write(frame(e));  // replay what was missed
    }
    streams.add(res);         // same tick as the replay: nothing slips between them
    const beat = setInterval(() => res.write(": heartbeat\n\n"), 15000);
    res.on("close", () => { clearInterval(beat); streams.delete(res); });
  } else {
    res.writeHead(404).end();
  }
});

const at = process.argv.indexOf("--port");
const port = at > 0 ? Number(process.argv[at + 1]) : 3000;
server.listen(port, "127.0.0.1", () => {
  console.log(`SSE server listening on http://127.0.0.1:${server.address().port}/sse`);
});
