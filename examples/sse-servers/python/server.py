"""The lesson's SSE server in Python: FastAPI on uvicorn.

    python server.py --port 8000      # then: curl -N localhost:8000/sse

--port 0 picks a free port; the first line printed names the URL.
"""
import argparse, asyncio, json, socket, time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()
KEPT = 1000                           # the replay buffer holds this many events
events: list[dict] = []
listeners: set[asyncio.Queue] = set()
# Ids start at the clock (ms), so after a restart they are larger than any id
# of the old process, and an old Last-Event-ID can never point into this run.
newest = time.time_ns() // 1_000_000

def frame(e: dict) -> str:
    return f"id: {e['id']}\nevent: note\ndata: {json.dumps(e['data'])}\n\n"

def resume_point(request: Request) -> int | None:
    raw = request.headers.get("last-event-id", "")
    # Not a number (a foreign or garbled id): no resume point, not an error.
    # An error status would end the client's EventSource for good.
    return int(raw) if raw.isascii() and raw.isdigit() else None

def replay(last: int | None) -> tuple[bool, list[dict]]:
    """Whether events after `last` were lost (reset), and those still kept."""
    if last is None:
        return False, []
    oldest = events[0]["id"] if events else newest + 1
    lost = last > newest or last < oldest - 1   # from another run, or fell out of the buffer
    return lost, [e for e in events if e["id"] > last or lost]

@app.post("/events", status_code=202)
async def publish(data: dict):
    global newest
    newest += 1
    e = {"id": newest, "data": data}
    events.append(e)
    del events[:-KEPT]
    for q in listeners:
        q.put_nowait(e)
    return {"id": e["id"]}

@app.get("/sse")
async def sse(request: Request):
    last = resume_point(request)

    async def stream():
        queue: asyncio.Queue = asyncio.Queue(maxsize=KEPT)
        listeners.add(queue)             # listen first: nothing slips between replay and live
        try:
            yield "retry: 2000\n\n"
            lost, missed = replay(last)
            if lost:
                yield 'event: reset\ndata: {"message": "events were lost; reload"}\n\n'
            sent = 0 if lost or last is None else last
            for e in missed:
                yield frame(e)
                sent = e["id"]
            beat = asyncio.get_running_loop().time() + 15
            while True:
                wait = beat - asyncio.get_running_loop().time()
                try:
                    e = await asyncio.wait_for(queue.get(), timeout=max(wait, 0))
                except asyncio.TimeoutError:
                    yield ": heartbeat\n\n"  # every 15 s, events or not
                    beat += 15
                    continue
                if e["id"] > sent:       # skip what the replay already sent
                    yield frame(e)
                    sent = e["id"]
        finally:
            listeners.discard(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    port = parser.parse_args().port
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)                  # connections wait from now on, even before uvicorn runs
    print(f"SSE server listening on http://127.0.0.1:{sock.getsockname()[1]}/sse", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
