// A chat over SSE + POST that shows every message exactly once: the stream
// brings every message, mine included, so the stream alone shows them.
// The POST only sends; its answer (the id) is not a second copy to show.

let started = false;

async function send(text) {
  const res = await fetch("/api/chat", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text }),
  });
  if (!res.ok) console.log(`not sent: ${res.status}`);
}

export function main() {
  const source = new EventSource("/api/sse?topics=chat");
  source.addEventListener("chat", (m) => {
    const message = JSON.parse(m.data).data;
    show(Number(m.lastEventId), message.text);
  });
  source.onopen = async () => {
    if (started) return;
    started = true;
    await send("hello from my own code");
    setTimeout(() => send("my second message"), 1500);
  };
}
