"""FastAPI peer of realtime-playground, for the benchmark (bench/peers/README.md).

The same four ways of getting updates as the Rust server, written the way a
FastAPI developer would: one asyncio process under uvicorn (uvloop +
httptools), pydantic for the request body, sse-starlette for the event
stream, Starlette's WebSocket for /api/ws.

The hub: events are numbered 1, 2, 3…, the newest N sit in a bounded deque
(the replay buffer), and every waiter (held long-poll, SSE stream, subscribed
WebSocket) keeps a cursor and sleeps on one shared asyncio.Event that each
publish sets and replaces. A woken waiter reads what is newer than its cursor
from the deque, so replay and live delivery are the same code path and a slow
reader never blocks the publisher. Each event is serialised once, when it is
published, and every transport sends those bytes.

Run: python app.py --port 8080 (see bench/peers/start).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import re
import socket
import time
from collections import deque
from contextlib import contextmanager
from typing import Any, Iterator

import uvicorn
from fastapi import FastAPI, Header, Query, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

SSE_RETRY_MS = 2000
SSE_HEARTBEAT_SECS = 15
LONG_POLL_DEFAULT_SECS = 25
LONG_POLL_MAX_SECS = 60
DEFAULT_BATCH = 100
MAX_BATCH = 1000
MAX_WS_MESSAGE_BYTES = 64 * 1024
MAX_TOPICS = 64
NAME = r"^[A-Za-z0-9_.\-]{1,64}$"
NAME_RE = re.compile(NAME)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Event:
    """One published event, with its three wire forms made once."""

    __slots__ = ("id", "topic", "json", "sse", "ws")

    def __init__(self, id: int, topic: str, kind: str, data: Any) -> None:
        ms = time.time_ns() // 1_000_000
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
        body = compact(
            {
                "id": id,
                "topic": topic,
                "type": kind,
                "data": data,
                "published_at": f"{stamp}.{ms % 1000:03d}Z",
                "published_at_ms": ms,
            }
        )
        self.id = id
        self.topic = topic
        self.json = body.encode()
        self.sse = ServerSentEvent(body, id=str(id), event=kind, sep="\n").encode()
        self.ws = '{"type":"event","event":' + body + "}"


class Hub:
    """Numbers, keeps and hands out events; see the module docstring."""

    def __init__(self, capacity: int) -> None:
        self.ring: deque[Event] = deque(maxlen=max(capacity, 1))
        self.last_id = 0
        self.subscribers = 0
        self._published = asyncio.Event()

    def publish(self, topic: str, kind: str, data: Any) -> Event:
        self.last_id += 1
        event = Event(self.last_id, topic, kind, data)
        self.ring.append(event)
        # Wake every waiter at once; later waiters sleep on a fresh Event.
        self._published.set()
        self._published = asyncio.Event()
        return event

    def after(self, since: int) -> list[Event]:
        """Buffered events with an id greater than `since`, oldest first."""
        ring = self.ring
        if not ring or since >= self.last_id:
            return []
        start = since + 1 - ring[0].id
        if start <= 0:
            return list(ring)
        # Ids in the ring are consecutive: index from the newer end.
        return [ring[i] for i in range(start, len(ring))]

    async def wait_after(self, cursor: int) -> list[Event]:
        """Like `after`, but sleeps until there is something newer than `cursor`."""
        while self.last_id <= cursor:
            await self._published.wait()
        return self.after(cursor)

    @contextmanager
    def subscribed(self) -> Iterator[None]:
        self.subscribers += 1
        try:
            yield
        finally:
            self.subscribers -= 1


def topic_filter(raw: str | list[str] | None) -> frozenset[str] | None:
    """`a,b` (or a list) as a set; None means every topic."""
    items = raw.split(",") if isinstance(raw, str) else (raw or [])
    topics = frozenset(t.strip() for t in items if t.strip())
    return topics or None


def matching(events: list[Event], topics: frozenset[str] | None) -> list[Event]:
    return events if topics is None else [e for e in events if e.topic in topics]


def name_problem(topic: str, kind: str) -> str | None:
    if not NAME_RE.match(topic):
        return f"topic {topic!r} is not valid: use 1 to 64 letters, digits, '-', '_' or '.'."
    if not NAME_RE.match(kind):
        return f"type {kind!r} is not valid: use 1 to 64 letters, digits, '-', '_' or '.'."
    if kind == "reset":
        return 'type "reset" is reserved for the server\'s own reset signal.'
    return None


def batch_response(events: list[Event], more: bool, cursor: int) -> Response:
    """200 with the events, or 204 when there are none; both tell the cursor."""
    if not events:
        return Response(status_code=204, headers={"X-Last-Event-Id": str(cursor)})
    last_id = events[-1].id if more else cursor
    # The events are already JSON: join them instead of encoding them again.
    body = b'{"events":[%s],"last_id":%d,"more":%s}' % (
        b",".join(e.json for e in events),
        last_id,
        b"true" if more else b"false",
    )
    return Response(body, media_type="application/json", headers={"X-Last-Event-Id": str(last_id)})


def problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"status": status, "detail": detail}, status_code=status)


hub = Hub(1000)  # main() sets the size from --replay-buffer
app = FastAPI(title="realtime-playground FastAPI peer", docs_url=None, redoc_url=None, openapi_url=None)


@app.exception_handler(RequestValidationError)
async def bad_request(_request: Any, exc: RequestValidationError) -> JSONResponse:
    # The Rust server answers malformed input with 400, not FastAPI's 422.
    return problem(400, str(exc.errors()))


class PublishRequest(BaseModel):
    topic: str = Field(pattern=NAME)
    type: str = Field(default="message", pattern=NAME)
    data: Any = None


@app.post("/api/events", status_code=202)
async def publish(body: PublishRequest) -> Response:
    if (why := name_problem(body.topic, body.type)) is not None:
        return problem(400, why)
    event = hub.publish(body.topic, body.type, body.data)
    return JSONResponse(
        {"id": event.id, "poll_url": f"/api/poll?since={event.id - 1}"}, status_code=202
    )


@app.get("/api/status")
async def status() -> dict[str, Any]:
    return {
        "last_id": hub.last_id,
        "oldest_id": hub.ring[0].id if hub.ring else None,
        "buffered": len(hub.ring),
        "buffer_capacity": hub.ring.maxlen,
        "subscribers": hub.subscribers,
    }


@app.get("/api/poll")
async def poll(
    since: int | None = Query(None, ge=0),
    topics: str | None = None,
    limit: int = Query(DEFAULT_BATCH, ge=1, le=MAX_BATCH),
) -> Response:
    wanted = topic_filter(topics)
    cursor = hub.last_id
    found = matching(hub.after(since) if since is not None else list(hub.ring), wanted)
    return batch_response(found[:limit], len(found) > limit, cursor)


@app.get("/api/long-poll")
async def long_poll(
    since: int | None = Query(None, ge=0),
    timeout: int = Query(LONG_POLL_DEFAULT_SECS, ge=1, le=LONG_POLL_MAX_SECS),
    topics: str | None = None,
    limit: int = Query(DEFAULT_BATCH, ge=1, le=MAX_BATCH),
) -> Response:
    wanted = topic_filter(topics)
    cursor = hub.last_id if since is None else since
    found: list[Event] = []
    with hub.subscribed():
        try:
            async with asyncio.timeout(timeout):
                while not found:
                    batch = await hub.wait_after(cursor)
                    cursor = batch[-1].id
                    found = matching(batch, wanted)
        except TimeoutError:
            pass
    return batch_response(found[:limit], len(found) > limit, cursor)


RETRY = ServerSentEvent(retry=SSE_RETRY_MS, sep="\n").encode()


def heartbeat() -> ServerSentEvent:
    return ServerSentEvent(comment="heartbeat", sep="\n")


@app.get("/api/sse")
async def sse(
    topics: str | None = None,
    last_event_id: int | None = Query(None, ge=0),
    last_event_id_header: str | None = Header(None, alias="Last-Event-ID"),
) -> Response:
    resume = last_event_id
    if last_event_id_header is not None and last_event_id_header.strip():
        if not last_event_id_header.strip().isdigit():
            return problem(400, "Last-Event-ID must be an id (a whole number).")
        resume = int(last_event_id_header)
    wanted = topic_filter(topics)
    start = hub.last_id if resume is None else resume

    async def stream():
        cursor = start
        with hub.subscribed():
            yield RETRY
            while True:
                batch = await hub.wait_after(cursor)
                cursor = batch[-1].id
                if found := matching(batch, wanted):
                    # Everything that is ready goes out in one write.
                    yield b"".join(e.sse for e in found)

    return EventSourceResponse(
        stream(),
        headers={"Cache-Control": "no-cache"},
        sep="\n",
        ping=SSE_HEARTBEAT_SECS,
        ping_message_factory=heartbeat,
    )


client_ids = itertools.count(1)


class WsSubscription:
    def __init__(self, topics: frozenset[str] | None, cursor: int) -> None:
        self.topics = topics
        self.cursor = cursor


async def push_events(ws: WebSocket, sub: WsSubscription) -> None:
    """The subscription's half of a connection: send what the hub publishes."""
    with hub.subscribed():
        try:
            while True:
                for event in await hub.wait_after(sub.cursor):
                    if sub.topics is None or event.topic in sub.topics:
                        await ws.send_text(event.ws)
                    sub.cursor = event.id
        except (WebSocketDisconnect, RuntimeError, OSError):
            # The client is gone; the receiving half notices and cleans up.
            return


@app.websocket("/api/ws")
async def websocket(ws: WebSocket) -> None:
    await ws.accept()
    client_id = f"ws-{next(client_ids)}"
    await ws.send_text(
        compact(
            {
                "type": "welcome",
                "client_id": client_id,
                "last_id": hub.last_id,
                "max_message_bytes": MAX_WS_MESSAGE_BYTES,
            }
        )
    )
    sub: WsSubscription | None = None
    pusher: asyncio.Task[None] | None = None

    def reply(kind: str, ref: Any = None, **fields: Any) -> str:
        msg = {"type": kind, **fields}
        if ref is not None:
            msg["ref"] = ref
        return compact(msg)

    def error(code: str, message: str, ref: Any = None) -> str:
        return reply("error", ref, code=code, message=message)

    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                await ws.send_text(
                    error("binary_not_supported", "This endpoint speaks JSON text messages.")
                )
                continue
            try:
                msg = json.loads(text)
            except ValueError as err:
                await ws.send_text(error("invalid_json", f"That is not valid JSON: {err}."))
                continue
            if not isinstance(msg, dict):
                await ws.send_text(error("invalid_message", "Send a JSON object with a type."))
                continue
            ref = msg.get("ref")
            kind = msg.get("type")
            if kind == "subscribe":
                topics = msg.get("topics") or []
                since = msg.get("since")
                if not isinstance(topics, list) or not all(
                    isinstance(t, str) and NAME_RE.match(t) for t in topics
                ):
                    await ws.send_text(error("invalid_subscribe", "topics must be valid topic names.", ref))
                    continue
                if since is not None and (not isinstance(since, int) or since < 0):
                    await ws.send_text(error("invalid_subscribe", "since must be an id.", ref))
                    continue
                wanted = topic_filter(topics)
                if sub is not None:
                    # Adding topics widens the filter; "all" stays "all".
                    wanted = None if sub.topics is None or wanted is None else sub.topics | wanted
                if wanted is not None and len(wanted) > MAX_TOPICS:
                    await ws.send_text(error("too_many_topics", f"At most {MAX_TOPICS} topics.", ref))
                    continue
                # Without `since` an existing subscription carries on from its cursor.
                cursor = since if since is not None else (sub.cursor if sub else hub.last_id)
                if pusher is not None:
                    pusher.cancel()
                sub = WsSubscription(wanted, cursor)
                await ws.send_text(reply("ack", ref, **{"for": "subscribe", "topics": sorted(wanted or [])}))
                pusher = asyncio.create_task(push_events(ws, sub))
            elif kind == "unsubscribe":
                if pusher is not None:
                    pusher.cancel()
                sub = pusher = None
                await ws.send_text(reply("ack", ref, **{"for": "unsubscribe", "topics": []}))
            elif kind == "publish":
                topic = msg.get("topic")
                event_type = msg.get("event", "message")
                why = (
                    name_problem(topic, event_type)
                    if isinstance(topic, str) and isinstance(event_type, str)
                    else "topic and event must be strings."
                )
                if why is not None:
                    await ws.send_text(error("invalid_publish", why, ref))
                    continue
                event = hub.publish(topic, event_type, msg.get("data"))
                await ws.send_text(reply("ack", ref, **{"for": "publish", "id": event.id}))
            elif kind == "echo":
                await ws.send_text(reply("echo", ref, data=msg.get("data")))
            elif kind == "ping":
                await ws.send_text(reply("pong", ref))
            else:
                await ws.send_text(
                    error("invalid_message", "Known types: subscribe, unsubscribe, publish, echo, ping.", ref)
                )
    except WebSocketDisconnect:
        pass
    finally:
        if pusher is not None:
            pusher.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--replay-buffer", type=int, default=1000, help="events kept for catch-up")
    args = parser.parse_args()
    global hub
    hub = Hub(args.replay_buffer)

    config = uvicorn.Config(
        app,
        workers=1,  # one process, like the Rust server
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=MAX_WS_MESSAGE_BYTES,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        # Off, as in the Rust server and in `ws` by default: the benchmark compares the same bytes.
        ws_per_message_deflate=False,
        # No per-request access log: writing a line per request would be
        # measured as server time. Warnings and errors still go to stderr.
        access_log=False,
        log_level="warning",
        backlog=4096,
        timeout_keep_alive=30,
        # Held long-polls and open streams must not keep a stopped server alive.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            print(f"peer fastapi is running on port {port}", flush=True)
        await task

    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve())


if __name__ == "__main__":
    main()
