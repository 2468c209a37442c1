#!/usr/bin/env python3
"""Conformance smoke test of the benchmark contract (bench/peers/README.md).

    python3 bench/peers/smoke.py http://127.0.0.1:PORT

Runs against any server that speaks the contract: the FastAPI and Node peers
and the Rust server (started with --event-ids from-one --feeds-paused). Uses
the standard library only (a minimal WebSocket client is included), publishes
a handful of events, and prints one line per check and a closing
`N passed, N failed` line; exits 1 when a check failed.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from typing import Any, Callable
from urllib.parse import urlsplit

EVENT_KEYS = {"id", "topic", "type", "data", "published_at", "published_at_ms"}
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TIMEOUT = 5.0


class Failed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


class Server:
    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = TIMEOUT
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            hdrs = dict(headers or {})
            if data is not None:
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def get_json(self, path: str, **kw: Any) -> tuple[int, dict[str, str], Any]:
        status, headers, body = self.request("GET", path, **kw)
        return status, headers, (json.loads(body) if body else None)

    def publish(self, topic: str, kind: str, data: Any) -> int:
        status, _, body = self.request("POST", "/api/events", {"topic": topic, "type": kind, "data": data})
        expect(status == 202, f"POST /api/events answered {status}, not 202: {body[:200]!r}")
        reply = json.loads(body)
        expect(isinstance(reply.get("id"), int), f"no numeric id in {reply}")
        return reply["id"]


def check_event(event: dict[str, Any], id: int | None = None) -> None:
    expect(isinstance(event, dict) and set(event) == EVENT_KEYS, f"event keys {sorted(event)} != {sorted(EVENT_KEYS)}")
    if id is not None:
        expect(event["id"] == id, f"event id {event['id']}, expected {id}")
    expect(RFC3339_MS.match(event["published_at"]) is not None, f"published_at {event['published_at']!r} is not RFC 3339 ms")
    expect(isinstance(event["published_at_ms"], int), "published_at_ms is not an integer")
    ms = int(time.time() * 1000)
    expect(abs(ms - event["published_at_ms"]) < 60_000, "published_at_ms is not close to now")


class SseReader:
    """Reads a text/event-stream over a raw socket, one block (up to a blank line) at a time."""

    def __init__(self, server: Server, path: str, headers: dict[str, str] | None = None) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        lines = [f"GET {path} HTTP/1.1", f"Host: {server.host}:{server.port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        self.status = int(head[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:] if ":" in h)}
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        self.text = ""

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise Failed("the stream ended")
            self.buf += data
        out, self.buf = self.buf.split(marker, 1)
        return out

    def _more(self) -> None:
        if self.chunked:
            size = int(self._until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                raise Failed("the stream ended")
            while len(self.buf) < size + 2:
                data = self.sock.recv(65536)
                if not data:
                    raise Failed("the stream ended")
                self.buf += data
            chunk, self.buf = self.buf[:size], self.buf[size + 2 :]
        else:
            chunk = self.buf or self.sock.recv(65536)
            self.buf = b""
            if not chunk:
                raise Failed("the stream ended")
        self.text += chunk.decode()

    def block(self, timeout: float = TIMEOUT) -> str:
        """The next block of fields (text up to a blank line), without the blank line."""
        self.sock.settimeout(timeout)
        while True:
            normalised = self.text.replace("\r\n", "\n").replace("\r", "\n")
            if "\n\n" in normalised:
                block, rest = normalised.split("\n\n", 1)
                self.text = rest
                return block
            self._more()

    def event(self, timeout: float = TIMEOUT) -> dict[str, str]:
        """The next block that carries data (heartbeats and retry are skipped)."""
        while True:
            fields: dict[str, str] = {}
            for line in self.block(timeout).split("\n"):
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
            if "data" in fields:
                return fields

    def close(self) -> None:
        self.sock.close()


class WsClient:
    """Just enough RFC 6455 for text messages."""

    def __init__(self, server: Server, path: str) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise Failed("the upgrade was refused (connection closed)")
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0].decode()
        expect(" 101 " in status + " ", f"upgrade answered {status!r}")

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise Failed("the WebSocket closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, msg: dict[str, Any]) -> None:
        self._frame(0x1, json.dumps(msg).encode())

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next text message as JSON (pings are answered, pongs skipped)."""
        self.sock.settimeout(timeout)
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x9:
                self._frame(0xA, payload)
            elif opcode == 0x8:
                raise Failed(f"the server closed the WebSocket: {payload!r}")
            elif opcode == 0x1:
                return json.loads(payload)

    def close(self) -> None:
        try:
            self._frame(0x8, struct.pack("!H", 1000))
        finally:
            self.sock.close()


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    srv = Server(sys.argv[1])
    passed = failed = 0

    def check(name: str, fn: Callable[[], None]) -> None:
        nonlocal passed, failed
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - every failure is a failed check
            failed += 1
            print(f"FAIL {name}: {type(err).__name__}: {err}", flush=True)
        else:
            passed += 1
            print(f"ok   {name}", flush=True)

    state: dict[str, Any] = {}

    def status() -> None:
        code, _, body = srv.get_json("/api/status")
        expect(code == 200, f"status {code}")
        expect(isinstance(body.get("last_id"), int) and isinstance(body.get("subscribers"), int), f"{body}")
        state["base"] = body["last_id"]

    def publish_three() -> None:
        base = state["base"]
        ids = [srv.publish("smoke-a", "first", {"n": 1}), srv.publish("smoke-b", "second", {"n": 2, "s": "é"}),
               srv.publish("smoke-a", "third", [1, 2.5, None, True])]
        expect(ids == [base + 1, base + 2, base + 3], f"ids {ids}, expected {base + 1}..{base + 3}")

    def poll_news() -> None:
        base = state["base"]
        code, headers, body = srv.get_json(f"/api/poll?since={base}")
        expect(code == 200, f"status {code}")
        expect(headers.get("content-type", "").startswith("application/json"), f"content-type {headers.get('content-type')}")
        expect(headers.get("x-last-event-id") == str(base + 3), f"X-Last-Event-Id {headers.get('x-last-event-id')}")
        expect(body["last_id"] == base + 3 and body["more"] is False, f"last_id/more {body['last_id']} {body['more']}")
        events = body["events"]
        expect([e["id"] for e in events] == [base + 1, base + 2, base + 3], f"ids {[e['id'] for e in events]}")
        for e in events:
            check_event(e)
        expect([(e["topic"], e["type"]) for e in events] == [("smoke-a", "first"), ("smoke-b", "second"), ("smoke-a", "third")],
               "topics/types differ")
        expect(events[1]["data"] == {"n": 2, "s": "é"} and events[2]["data"] == [1, 2.5, None, True], "data differs")

    def poll_no_news() -> None:
        base = state["base"]
        code, headers, body = srv.request("GET", f"/api/poll?since={base + 3}")
        expect(code == 204, f"status {code}")
        expect(body == b"", f"body {body!r}")
        expect(headers.get("x-last-event-id") == str(base + 3), f"X-Last-Event-Id {headers.get('x-last-event-id')}")

    def poll_limit_and_topics() -> None:
        base = state["base"]
        code, headers, body = srv.get_json(f"/api/poll?since={base}&limit=2")
        expect(code == 200 and body["more"] is True and body["last_id"] == base + 2, f"limit=2: {code} {body and (body['more'], body['last_id'])}")
        expect(headers.get("x-last-event-id") == str(base + 2), "limit=2 header")
        code, _, body = srv.get_json(f"/api/poll?since={base}&topics=smoke-b,nothing")
        expect(code == 200 and [e["id"] for e in body["events"]] == [base + 2], f"topics: {code} {body}")
        expect(body["last_id"] == base + 3, f"topics last_id {body['last_id']}")
        code, _, body = srv.get_json("/api/poll")
        expect(code == 200 and [e["id"] for e in body["events"]][-3:] == [base + 1, base + 2, base + 3], "no since: not the buffer")

    def poll_bad_limit() -> None:
        code, _, _ = srv.request("GET", "/api/poll?limit=0")
        expect(code == 400, f"limit=0 answered {code}, not 400")

    def long_poll_ready() -> None:
        base = state["base"]
        t0 = time.monotonic()
        code, headers, body = srv.get_json(f"/api/long-poll?since={base}&timeout=5")
        expect(code == 200 and [e["id"] for e in body["events"]] == [base + 1, base + 2, base + 3], f"{code} {body}")
        expect(headers.get("x-last-event-id") == str(base + 3), "header")
        expect(time.monotonic() - t0 < 1, "not answered at once")

    def long_poll_timeout() -> None:
        base = state["base"]
        t0 = time.monotonic()
        code, headers, body = srv.request("GET", f"/api/long-poll?since={base + 3}&timeout=1")
        took = time.monotonic() - t0
        expect(code == 204 and body == b"", f"status {code}")
        expect(headers.get("x-last-event-id") == str(base + 3), f"X-Last-Event-Id {headers.get('x-last-event-id')}")
        expect(0.9 <= took < 3, f"answered after {took:.2f} s, not ~1 s")

    def long_poll_wakes() -> None:
        base = state["base"]
        result: dict[str, Any] = {}

        def hold() -> None:
            result["answer"] = srv.get_json(f"/api/long-poll?since={base + 3}&timeout=10", timeout=15)
            result["at"] = time.monotonic()

        holder = threading.Thread(target=hold)
        holder.start()
        time.sleep(0.5)
        published_at = time.monotonic()
        id4 = srv.publish("smoke-a", "fourth", {"n": 4})
        holder.join(12)
        expect("answer" in result, "the long-poll did not return")
        code, headers, body = result["answer"]
        expect(code == 200 and [e["id"] for e in body["events"]] == [id4], f"{code} {body}")
        expect(headers.get("x-last-event-id") == str(id4), "header")
        delay = result["at"] - published_at
        expect(delay < 0.5, f"answered {delay * 1000:.0f} ms after the publish")
        state["id4"] = id4

    def sse_stream() -> None:
        base = state["base"]
        reader = SseReader(srv, "/api/sse", {"Last-Event-ID": str(base + 1)})
        try:
            expect(reader.status == 200, f"status {reader.status}")
            expect(reader.headers.get("content-type", "").replace(" ", "").lower() == "text/event-stream;charset=utf-8",
                   f"content-type {reader.headers.get('content-type')}")
            expect(reader.headers.get("cache-control") == "no-cache", f"cache-control {reader.headers.get('cache-control')}")
            first = reader.block()
            expect(first == "retry: 2000", f"first block {first!r}, not 'retry: 2000'")
            # Replay of what came after Last-Event-ID, in order.
            for want, kind in [(base + 2, "second"), (base + 3, "third"), (state["id4"], "fourth")]:
                ev = reader.event()
                expect(ev.get("id") == str(want) and ev.get("event") == kind, f"replayed {ev}, expected id {want} {kind}")
                data = json.loads(ev["data"])
                check_event(data, want)
            # Then live.
            id5 = srv.publish("smoke-b", "fifth", {"n": 5})
            ev = reader.event()
            expect(ev.get("id") == str(id5) and ev.get("event") == "fifth", f"live {ev}")
            check_event(json.loads(ev["data"]), id5)
            state["id5"] = id5
        finally:
            reader.close()

    def sse_query_resume_and_topics() -> None:
        reader = SseReader(srv, f"/api/sse?topics=smoke-a&last_event_id={state['base']}")
        try:
            expect(reader.status == 200, f"status {reader.status}")
            got = [int(reader.event()["id"]) for _ in range(3)]
            base = state["base"]
            expect(got == [base + 1, base + 3, state["id4"]], f"smoke-a replay {got}")
        finally:
            reader.close()

    def websocket() -> None:
        base = state["base"]
        ws = WsClient(srv, "/api/ws")
        try:
            welcome = ws.recv()
            expect(welcome.get("type") == "welcome" and isinstance(welcome.get("client_id"), str), f"welcome {welcome}")
            expect(welcome.get("last_id") == state["id5"], f"welcome last_id {welcome.get('last_id')}, expected {state['id5']}")
            ws.send({"type": "subscribe", "topics": ["smoke-a"], "since": base})
            ack = ws.recv()
            expect(ack.get("type") == "ack" and ack.get("for") == "subscribe" and ack.get("topics") == ["smoke-a"], f"ack {ack}")
            replayed = [ws.recv() for _ in range(3)]
            for msg in replayed:
                expect(msg.get("type") == "event", f"expected an event, got {msg}")
                check_event(msg["event"])
            ids = [m["event"]["id"] for m in replayed]
            expect(ids == [base + 1, base + 3, state["id4"]], f"replayed ids {ids}")
            srv.publish("smoke-b", "skipped", {})
            id_live = srv.publish("smoke-a", "live", {"n": 7})
            msg = ws.recv()
            expect(msg.get("type") == "event" and msg["event"]["id"] == id_live, f"live {msg}")
            check_event(msg["event"], id_live)
            ws.send({"type": "publish", "topic": "smoke-a", "event": "from-ws", "data": {"n": 8}})
            got = [ws.recv(), ws.recv()]
            acks = [m for m in got if m.get("type") == "ack"]
            events = [m for m in got if m.get("type") == "event"]
            expect(len(acks) == 1 and acks[0].get("for") == "publish" and acks[0].get("id") == id_live + 1, f"publish ack {got}")
            expect(len(events) == 1 and events[0]["event"]["type"] == "from-ws", f"own publish {got}")
        finally:
            ws.close()

    def status_after() -> None:
        time.sleep(0.3)
        code, _, body = srv.get_json("/api/status")
        expect(code == 200 and body["last_id"] == state["base"] + 8, f"last_id {body.get('last_id')}, expected {state['base'] + 8}")

    check("status", status)
    if "base" not in state:
        print("0 passed, 1 failed")
        return 1
    for name, fn in [
        ("publish 3 events: 202 with ids 1, 2, 3 after the base", publish_three),
        ("poll since: 200, events, X-Last-Event-Id, last_id, more", poll_news),
        ("poll nothing newer: 204, empty body, X-Last-Event-Id", poll_no_news),
        ("poll limit → more, topics filter, no since → buffer", poll_limit_and_topics),
        ("poll limit=0 → 400", poll_bad_limit),
        ("long-poll with news answers at once", long_poll_ready),
        ("long-poll timeout=1 → 204 after ~1 s", long_poll_timeout),
        ("long-poll held, then answered on publish", long_poll_wakes),
        ("SSE: headers, retry, Last-Event-ID replay, live id/event/data", sse_stream),
        ("SSE: ?last_event_id= replay with ?topics=", sse_query_resume_and_topics),
        ("WebSocket: welcome, subscribe+since → ack, replay, live, publish ack", websocket),
        ("status last_id after the run", status_after),
    ]:
        check(name, fn)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
