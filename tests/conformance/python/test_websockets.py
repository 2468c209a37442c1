"""Conformance of /api/ws and /api/ws/echo with the Python `websockets`
library (pinned in requirements.txt).

Plain asyncio, no test framework: each check is an `async def check_*`;
the script runs them all, prints ok / FAIL per check, and exits nonzero if
any failed. The server is the already-built debug binary (override with
PLAYGROUND_BIN), started with --port 0 and short ping settings.

CONFORMANCE_TLS=1 runs the same checks over `wss://`: the server with --tls
(its generated certificate kept in a temporary data directory, the only CA
the clients trust). websockets speaks HTTP/1.1, so this is the classic
upgrade inside TLS on the port that also offers HTTP/2.

Run: tests/conformance/python/.venv/bin/python tests/conformance/python/test_websockets.py
"""

import asyncio
import os
import re
import shutil
import signal
import ssl
import sys
import tempfile
import time
import traceback
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parents[3]
BIN = os.environ.get("PLAYGROUND_BIN", str(ROOT / "target/debug/realtime-playground"))
PING_INTERVAL = 1  # --ws-ping-interval-secs
PING_TIMEOUT = 1  # --ws-ping-timeout-secs
MAX_MESSAGE = 1024  # --ws-max-message-bytes
PATIENCE = 10.0  # upper bound for any single wait, so a bug fails instead of hanging
TLS = os.environ.get("CONFORMANCE_TLS") == "1"


class Server:
    """The binary on a free port; `base` is ws://127.0.0.1:PORT, or
    wss://localhost:PORT over TLS with `ssl` the context that trusts it."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int, data_dir: str | None):
        self.proc = proc
        self.port = port
        self.data_dir = data_dir
        self.ssl = None
        if data_dir:
            self.ssl = ssl.create_default_context(cafile=os.path.join(data_dir, "tls", "localhost-cert.pem"))
            self.base = f"wss://localhost:{port}"  # the name the certificate is for
        else:
            self.base = f"ws://127.0.0.1:{port}"

    def connect(self, path: str, **options):
        """websockets' client for `path`, over TLS when the server is."""
        return connect(self.base + path, ssl=self.ssl, **options)

    async def raw(self, path: str) -> "RawClient":
        return await RawClient.open(self.base + path, self.ssl)

    @classmethod
    async def start(cls) -> "Server":
        data_dir = tempfile.mkdtemp(prefix="playground-conformance-") if TLS else None
        keeping = ["--tls", "--data-dir", data_dir] if data_dir else ["--ephemeral"]
        proc = await asyncio.create_subprocess_exec(
            BIN,
            "--port", "0",
            "--feeds-paused",
            *keeping,
            "--ws-ping-interval-secs", str(PING_INTERVAL),
            "--ws-ping-timeout-secs", str(PING_TIMEOUT),
            "--ws-max-message-bytes", str(MAX_MESSAGE),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "RUST_LOG": "warn"},
        )

        async def port_line() -> int:
            while line := await proc.stdout.readline():
                m = re.fullmatch(rb"realtime-playground is running on port (\d+)\n", line)
                if m:
                    return int(m.group(1))
            raise RuntimeError(f"the server exited early ({await proc.wait()})")

        port = await asyncio.wait_for(port_line(), PATIENCE)
        # Keep draining stdout so the server never blocks on a full pipe.
        asyncio.get_running_loop().create_task(proc.stdout.read())
        return cls(proc, port, data_dir)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), PATIENCE)
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class RawClient:
    """websockets' sans-I/O ClientProtocol over a plain asyncio socket: we
    decide which frames go out (and whether pings are answered)."""

    def __init__(self, reader, writer, protocol: ClientProtocol):
        self.reader = reader
        self.writer = writer
        self.protocol = protocol
        self.frames: list[Frame] = []

    @classmethod
    async def open(cls, url: str, context: ssl.SSLContext | None = None) -> "RawClient":
        uri = parse_uri(url)
        reader, writer = await asyncio.open_connection(uri.host, uri.port, ssl=context)
        protocol = ClientProtocol(uri, max_size=None)
        protocol.send_request(protocol.connect())
        client = cls(reader, writer, protocol)
        await client.flush()
        while not any(isinstance(e, Response) for e in client.events_after_read(await client.read())):
            pass
        assert protocol.handshake_exc is None, protocol.handshake_exc
        return client

    async def read(self) -> bytes:
        return await asyncio.wait_for(self.reader.read(65536), PATIENCE)

    def events_after_read(self, data: bytes) -> list:
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        events = self.protocol.events_received()
        self.frames += [e for e in events if isinstance(e, Frame)]
        return events

    async def flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.writer.write(chunk)
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def wait_closed(self, answer: bool = True) -> tuple[int | None, float, float]:
        """Reads until the server's close frame and then its TCP close (a reset fails).
        Returns (close code, seconds to the close frame, seconds to EOF).
        `answer=False` never writes anything (no pongs, no close reply)."""
        start = time.monotonic()
        close_at = None
        while True:
            try:
                data = await self.read()
            except ConnectionResetError:
                raise AssertionError(
                    f"TCP reset (RST) instead of a clean close; close frame so far: {self.protocol.close_rcvd}"
                ) from None
            self.events_after_read(data)
            if close_at is None and self.protocol.close_rcvd is not None:
                close_at = time.monotonic() - start
            if answer:
                try:
                    await self.flush()
                except ConnectionError:
                    pass
            if not data:
                eof_at = time.monotonic() - start
                self.writer.close()
                code = self.protocol.close_rcvd.code if self.protocol.close_rcvd else None
                return code, close_at if close_at is not None else eof_at, eof_at


def masked(frame: Frame) -> bytearray:
    return bytearray(frame.serialize(mask=True))


# ---- the checks -------------------------------------------------------------


async def check_oversize_message_closes_with_1009(server: Server) -> None:
    for path in ("/api/ws", "/api/ws/echo"):
        # The rest of the refused message must not make the server's TCP close a reset.
        client = await server.raw(path)
        client.protocol.send_frame(Frame(Opcode.TEXT, b"z" * (4 * MAX_MESSAGE)))
        await client.flush()
        code, _, _ = await client.wait_closed()
        assert code == 1009, f"{path}, raw: close code {code}"
        async with server.connect(path, max_size=None) as ws:
            if path == "/api/ws":
                assert '"welcome"' in await asyncio.wait_for(ws.recv(), PATIENCE)
                fits = '{"type":"echo","data":"' + "x" * (MAX_MESSAGE - 40) + '"}'
            else:
                fits = "x" * MAX_MESSAGE
            # At the limit: answered (so what follows is the size, nothing else).
            assert len(fits) <= MAX_MESSAGE
            await ws.send(fits)
            reply = await asyncio.wait_for(ws.recv(), PATIENCE)
            assert "x" * (MAX_MESSAGE - 40) in reply, reply[:80]
            await ws.send("y" * (MAX_MESSAGE + 1))
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), PATIENCE)
            except ConnectionClosed:
                pass
            assert ws.close_code == 1009, f"{path}: close code {ws.close_code}"


async def check_invalid_utf8_text_closes_with_1007(server: Server) -> None:
    for path in 5 * ("/api/ws", "/api/ws/echo"):  # repeated: a reset instead of a clean close is a race
        client = await server.raw(path)
        # A TEXT frame whose payload is not UTF-8 (0xC3 starts a 2-byte sequence; 0x28 cannot continue it).
        client.protocol.send_frame(Frame(Opcode.TEXT, b"caf\xc3\x28"))
        await client.flush()
        code, _, _ = await client.wait_closed()
        assert code == 1007, f"{path}: close code {code}"


async def check_protocol_violations_close_with_1002(server: Server) -> None:
    rsv1 = masked(Frame(Opcode.TEXT, b'{"type":"ping"}'))
    rsv1[0] |= 0b0100_0000  # RSV1 without a negotiated extension
    reserved_opcode = masked(Frame(Opcode.TEXT, b"hi"))
    reserved_opcode[0] = (reserved_opcode[0] & 0xF0) | 0x3  # opcode 0x3 is reserved
    unmasked = Frame(Opcode.TEXT, b'{"type":"ping"}').serialize(mask=False)  # clients must mask
    cases = {"RSV1 set": bytes(rsv1), "reserved opcode 0x3": bytes(reserved_opcode), "unmasked frame": unmasked}
    for path in 3 * ("/api/ws", "/api/ws/echo"):
        for name, data in cases.items():
            client = await server.raw(path)
            await client.send_raw(data)
            code, _, _ = await client.wait_closed()
            assert code == 1002, f"{path}, {name}: close code {code}"


async def check_unanswered_pings_close_within_the_timeout(server: Server) -> None:
    # A client that answers pings (websockets does by itself), alongside: it must stay.
    async with server.connect("/api/ws", ping_interval=None) as answering:
        silent = await server.raw("/api/ws")
        code, close_at, eof_at = await silent.wait_closed(answer=False)
        pings = [f for f in silent.frames if f.opcode is Opcode.PING]
        budget = PING_INTERVAL + PING_TIMEOUT
        print(f"  no pong: ping after the interval, close frame {code} after {close_at:.2f} s, "
              f"TCP closed after {eof_at:.2f} s (interval {PING_INTERVAL} s + timeout {PING_TIMEOUT} s)")
        assert len(pings) >= 1, "the server sent a ping first"
        assert code == 1008, f"close code {code}"
        assert budget - 0.2 <= close_at <= budget + 0.5, f"closed after {close_at:.2f} s, expected ≈ {budget} s"
        # The server waits at most 1 s for the close reply it never gets.
        assert eof_at <= budget + 1.5, f"TCP closed after {eof_at:.2f} s"
        # The answering client is still served, past the same deadline.
        await answering.send('{"type":"ping"}')
        while '"pong"' not in (reply := await asyncio.wait_for(answering.recv(), PATIENCE)):
            pass
        assert answering.close_code is None


async def check_client_ping_gets_a_pong(server: Server) -> None:
    for path in ("/api/ws", "/api/ws/echo"):
        async with server.connect(path, ping_interval=None) as ws:
            pong = await ws.ping(b"conformance")
            latency = await asyncio.wait_for(pong, PATIENCE)
            assert latency < PATIENCE
            print(f"  {path}: ping answered in {latency * 1000:.1f} ms")


async def check_sigterm_closes_with_1001() -> None:
    server = await Server.start()
    try:
        async with server.connect("/api/ws") as ws, server.connect("/api/ws/echo") as echo:
            assert '"welcome"' in await asyncio.wait_for(ws.recv(), PATIENCE)
            await echo.send("still here")
            assert await asyncio.wait_for(echo.recv(), PATIENCE) == "still here"
            start = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            for client in (ws, echo):
                try:
                    while True:
                        await asyncio.wait_for(client.recv(), PATIENCE)
                except ConnectionClosed:
                    pass
            closed_after = time.monotonic() - start
            print(f"  SIGTERM: both closed after {closed_after:.2f} s")
            assert ws.close_code == 1001, f"/api/ws: close code {ws.close_code}"
            assert echo.close_code == 1001, f"/api/ws/echo: close code {echo.close_code}"
        rc = await asyncio.wait_for(server.proc.wait(), PATIENCE)
        assert rc == 0, f"the server exited with {rc}"
    finally:
        await server.stop()


async def main() -> int:
    server, shutdown = None, None
    failed = []
    try:
        server = await Server.start()
        checks = [
            check_oversize_message_closes_with_1009,
            check_invalid_utf8_text_closes_with_1007,
            check_protocol_violations_close_with_1002,
            check_client_ping_gets_a_pong,
        ]

        async def run(name, coro):
            try:
                await asyncio.wait_for(coro, 3 * PATIENCE)
                print(f"ok   {name}")
            except BaseException:  # noqa: BLE001 — report every failure, then exit nonzero
                failed.append(name)
                print(f"FAIL {name}")
                traceback.print_exc()

        # The timing checks run side by side with the quick ones (they mostly wait).
        timed = asyncio.gather(
            run("unanswered pings close within interval + timeout with 1008",
                check_unanswered_pings_close_within_the_timeout(server)),
            run("SIGTERM closes open WebSockets with 1001", check_sigterm_closes_with_1001()),
        )
        for check in checks:
            await run(check.__name__.removeprefix("check_").replace("_", " "), check(server))
        await timed
    finally:
        if server:
            await server.stop()
    print(f"FAILED: {len(failed)} of 6 checks" if failed else "all 6 checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
