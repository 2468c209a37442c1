// Node peer of realtime-playground, for the benchmark (bench/peers/README.md).
//
// The same four ways of getting updates as the Rust server, written the way a
// Node developer would: one process, node:http for the HTTP endpoints and the
// `ws` package for /api/ws, no framework.
//
// The hub: events are numbered 1, 2, 3…, the newest N sit in a ring buffer
// (the replay buffer), and live subscribers (held long-polls, SSE streams,
// subscribed WebSockets) are callbacks in a Set that `publish` calls in turn.
// Each event is serialised once, when it is published; every transport sends
// that string. Node is single-threaded, so a publish reaches every subscriber
// before the next request is read, and replay + live join without gaps.
//
// Run: node server.mjs --port 8080 (see bench/peers/start).

import http from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'replay-buffer': { type: 'string', default: '1000' },
  },
});
const SSE_RETRY_MS = 2000;
const SSE_HEARTBEAT_MS = 15_000;
const WS_PING_MS = 20_000;
const LONG_POLL_DEFAULT_SECS = 25;
const LONG_POLL_MAX_SECS = 60;
const DEFAULT_BATCH = 100;
const MAX_BATCH = 1000;
const MAX_BODY_BYTES = 64 * 1024;
const MAX_WS_MESSAGE_BYTES = 64 * 1024;
const MAX_TOPICS = 64;
// A client that stops reading is cut off once this much waits for it.
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

class Hub {
  constructor(capacity) {
    this.capacity = Math.max(capacity, 1);
    this.ring = new Array(this.capacity);
    this.head = 0; // index of the oldest event
    this.size = 0;
    this.lastId = 0;
    /** @type {Set<(event: object) => void>} */
    this.subscribers = new Set();
  }

  publish(topic, type, data) {
    const id = ++this.lastId;
    const now = Date.now();
    const json = JSON.stringify({
      id,
      topic,
      type,
      data,
      published_at: new Date(now).toISOString(),
      published_at_ms: now,
    });
    const event = {
      id,
      topic,
      json,
      sse: `id: ${id}\nevent: ${type}\ndata: ${json}\n\n`,
      ws: `{"type":"event","event":${json}}`,
    };
    if (this.size < this.capacity) {
      this.ring[(this.head + this.size) % this.capacity] = event;
      this.size++;
    } else {
      this.ring[this.head] = event;
      this.head = (this.head + 1) % this.capacity;
    }
    for (const deliver of this.subscribers) deliver(event);
    return event;
  }

  get oldestId() {
    return this.size ? this.ring[this.head].id : null;
  }

  /** Buffered events with an id greater than `since`, oldest first. */
  after(since) {
    if (!this.size || since >= this.lastId) return [];
    // Ids in the ring are consecutive, so the start is arithmetic.
    const skip = Math.max(0, since + 1 - this.ring[this.head].id);
    const out = new Array(this.size - skip);
    for (let i = skip; i < this.size; i++) out[i - skip] = this.ring[(this.head + i) % this.capacity];
    return out;
  }

  subscribe(deliver) {
    this.subscribers.add(deliver);
    return () => this.subscribers.delete(deliver);
  }
}

const hub = new Hub(Number(args['replay-buffer']));

/** `a,b` (or an array) as a Set; null means every topic. */
function topicFilter(raw) {
  const items = typeof raw === 'string' ? raw.split(',') : (raw ?? []);
  const topics = new Set(items.map((t) => t.trim()).filter(Boolean));
  return topics.size ? topics : null;
}

const wants = (topics, event) => topics === null || topics.has(event.topic);

function nameProblem(topic, type) {
  if (typeof topic !== 'string' || !NAME.test(topic)) {
    return `topic ${JSON.stringify(topic)} is not valid: use 1 to 64 letters, digits, '-', '_' or '.'.`;
  }
  if (typeof type !== 'string' || !NAME.test(type)) {
    return `type ${JSON.stringify(type)} is not valid: use 1 to 64 letters, digits, '-', '_' or '.'.`;
  }
  if (type === 'reset') return 'type "reset" is reserved for the server\'s own reset signal.';
  return null;
}

class BadRequest extends Error {}

/** An optional whole-number query parameter within [min, max]. */
function intParam(params, name, min, max, fallback) {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new BadRequest(`${name} must be a whole number between ${min} and ${max}, not ${JSON.stringify(raw)}.`);
  }
  return n;
}

function sendJson(res, status, value, headers = {}) {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function problem(res, status, detail) {
  sendJson(res, status, { status, detail });
}

/** 200 with the events, or 204 when there are none; both tell the cursor. */
function sendBatch(res, events, more, cursor) {
  if (!events.length) {
    res.writeHead(204, { 'X-Last-Event-Id': String(cursor) });
    res.end();
    return;
  }
  const lastId = more ? events[events.length - 1].id : cursor;
  // The events are already JSON: join them instead of encoding them again.
  const body = `{"events":[${events.map((e) => e.json).join(',')}],"last_id":${lastId},"more":${more}}`;
  sendJson(res, 200, body, { 'X-Last-Event-Id': String(lastId) });
}

function poll(req, res, params) {
  const since = intParam(params, 'since', 0, Number.MAX_SAFE_INTEGER, null);
  const limit = intParam(params, 'limit', 1, MAX_BATCH, DEFAULT_BATCH);
  const topics = topicFilter(params.get('topics'));
  const cursor = hub.lastId;
  const found = hub.after(since ?? 0).filter((e) => wants(topics, e));
  sendBatch(res, found.slice(0, limit), found.length > limit, cursor);
}

function longPoll(req, res, params) {
  const since = intParam(params, 'since', 0, Number.MAX_SAFE_INTEGER, null);
  const timeout = intParam(params, 'timeout', 1, LONG_POLL_MAX_SECS, LONG_POLL_DEFAULT_SECS);
  const limit = intParam(params, 'limit', 1, MAX_BATCH, DEFAULT_BATCH);
  const topics = topicFilter(params.get('topics'));
  const start = since ?? hub.lastId;
  const answer = (cursor) => {
    const found = hub.after(start).filter((e) => wants(topics, e));
    sendBatch(res, found.slice(0, limit), found.length > limit, cursor);
  };
  if (hub.after(start).some((e) => wants(topics, e))) {
    answer(hub.lastId);
    return;
  }
  // Hold the request until a matching event, the timeout, or the client hangs up.
  const done = () => {
    unsubscribe();
    clearTimeout(timer);
  };
  const unsubscribe = hub.subscribe((event) => {
    if (event.id > start && wants(topics, event)) {
      done();
      answer(event.id);
    }
  });
  const timer = setTimeout(() => {
    done();
    sendBatch(res, [], false, Math.max(start, hub.lastId));
  }, timeout * 1000);
  res.on('close', done);
}

function sse(req, res, params) {
  const header = req.headers['last-event-id'];
  let resume = intParam(params, 'last_event_id', 0, Number.MAX_SAFE_INTEGER, null);
  if (header !== undefined && header.trim() !== '') {
    if (!/^\d{1,19}$/.test(header.trim())) {
      problem(res, 400, 'Last-Event-ID must be an id (a whole number).');
      return;
    }
    resume = Number(header.trim());
  }
  const topics = topicFilter(params.get('topics'));
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  let first = `retry: ${SSE_RETRY_MS}\n\n`;
  if (resume !== null) {
    for (const event of hub.after(resume)) if (wants(topics, event)) first += event.sse;
  }
  res.write(first);
  const write = (chunk) => {
    if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
    else res.write(chunk);
  };
  const unsubscribe = hub.subscribe((event) => {
    if (wants(topics, event)) write(event.sse);
  });
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
  res.on('close', () => {
    unsubscribe();
    clearInterval(heartbeat);
  });
}

function publishRoute(req, res) {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      problem(res, 413, `The body may have at most ${MAX_BODY_BYTES} bytes.`);
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (res.headersSent) return;
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      problem(res, 400, `The body is not valid JSON: ${err.message}`);
      return;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      problem(res, 400, 'The body must be a JSON object.');
      return;
    }
    const { topic, type = 'message', data = null } = body;
    const why = nameProblem(topic, type);
    if (why) {
      problem(res, 400, why);
      return;
    }
    const event = hub.publish(topic, type, data);
    sendJson(res, 202, { id: event.id, poll_url: `/api/poll?since=${event.id - 1}` });
  });
}

function status(req, res) {
  sendJson(res, 200, {
    last_id: hub.lastId,
    oldest_id: hub.oldestId,
    buffered: hub.size,
    buffer_capacity: hub.capacity,
    subscribers: hub.subscribers.size,
  });
}

const routes = {
  'GET /api/poll': poll,
  'GET /api/long-poll': longPoll,
  'GET /api/sse': sse,
  'POST /api/events': publishRoute,
  'GET /api/status': status,
};

const server = http.createServer((req, res) => {
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  const route = routes[`${req.method} ${path}`];
  if (!route) {
    problem(res, 404, `No route for ${req.method} ${path}.`);
    return;
  }
  try {
    route(req, res, new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1)));
  } catch (err) {
    if (err instanceof BadRequest) {
      problem(res, 400, err.message);
    } else {
      console.error(err);
      if (!res.headersSent) problem(res, 500, 'Internal error.');
      else res.destroy();
    }
  }
});
// Long-lived answers (SSE, held long-polls) must not be cut by the defaults.
server.requestTimeout = 0;
server.keepAliveTimeout = 30_000;
server.headersTimeout = 60_000;

let clientIds = 0;
const wss = new WebSocketServer({
  server,
  path: '/api/ws',
  maxPayload: MAX_WS_MESSAGE_BYTES,
  perMessageDeflate: false, // ws's default; same bytes as the Rust server
});

wss.on('connection', (ws) => {
  const clientId = `ws-${++clientIds}`;
  let sub = null; // { topics, cursor, unsubscribe }
  ws.isAlive = true;
  ws.on('pong', () => {
    ws.isAlive = true;
  });
  const send = (text) => {
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) ws.terminate();
    else ws.send(text);
  };
  const reply = (type, ref, fields = {}) => {
    const msg = { type, ...fields };
    if (ref !== undefined && ref !== null) msg.ref = ref;
    send(JSON.stringify(msg));
  };
  const error = (code, message, ref) => reply('error', ref, { code, message });
  const stop = () => {
    sub?.unsubscribe();
    sub = null;
  };

  send(JSON.stringify({ type: 'welcome', client_id: clientId, last_id: hub.lastId, max_message_bytes: MAX_WS_MESSAGE_BYTES }));

  ws.on('message', (raw, isBinary) => {
    if (isBinary) {
      error('binary_not_supported', 'This endpoint speaks JSON text messages.');
      return;
    }
    let msg;
    try {
      msg = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      error('invalid_json', `That is not valid JSON: ${err.message}.`);
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      error('invalid_message', 'Send a JSON object with a type.');
      return;
    }
    const ref = msg.ref;
    switch (msg.type) {
      case 'subscribe': {
        const requested = msg.topics ?? [];
        const since = msg.since;
        if (!Array.isArray(requested) || !requested.every((t) => typeof t === 'string' && NAME.test(t))) {
          error('invalid_subscribe', 'topics must be valid topic names.', ref);
          return;
        }
        if (since !== undefined && since !== null && !(Number.isSafeInteger(since) && since >= 0)) {
          error('invalid_subscribe', 'since must be an id.', ref);
          return;
        }
        let topics = topicFilter(requested);
        if (sub) {
          // Adding topics widens the filter; "all" stays "all".
          topics = sub.topics === null || topics === null ? null : new Set([...sub.topics, ...topics]);
        }
        if (topics !== null && topics.size > MAX_TOPICS) {
          error('too_many_topics', `At most ${MAX_TOPICS} topics.`, ref);
          return;
        }
        // Without `since` an existing subscription carries on from its cursor.
        const cursor = since ?? sub?.cursor ?? hub.lastId;
        stop();
        const next = { topics, cursor, unsubscribe: null };
        reply('ack', ref, { for: 'subscribe', topics: topics ? [...topics].sort() : [] });
        const deliver = (event) => {
          if (event.id <= next.cursor) return;
          next.cursor = event.id;
          if (wants(topics, event)) send(event.ws);
        };
        for (const event of hub.after(cursor)) deliver(event);
        next.unsubscribe = hub.subscribe(deliver);
        sub = next;
        return;
      }
      case 'unsubscribe':
        stop();
        reply('ack', ref, { for: 'unsubscribe', topics: [] });
        return;
      case 'publish': {
        const { topic, event: type = 'message', data = null } = msg;
        const why = nameProblem(topic, type);
        if (why) {
          error('invalid_publish', why, ref);
          return;
        }
        const event = hub.publish(topic, type, data);
        reply('ack', ref, { for: 'publish', id: event.id });
        return;
      }
      case 'echo':
        reply('echo', ref, { data: msg.data ?? null });
        return;
      case 'ping':
        reply('pong', ref);
        return;
      default:
        error('invalid_message', 'Known types: subscribe, unsubscribe, publish, echo, ping.', ref);
    }
  });
  ws.on('close', stop);
  ws.on('error', stop);
});

// The heartbeat pattern from ws's README: ping every 20 s, drop peers that did not answer the last one.
const pinger = setInterval(() => {
  for (const ws of wss.clients) {
    if (!ws.isAlive) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, WS_PING_MS);
wss.on('close', () => clearInterval(pinger));

// No per-request logging: a line per request would be measured as server time.
server.listen(Number(args.port), args.host, () => {
  console.log(`peer node is running on port ${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    wss.close();
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
