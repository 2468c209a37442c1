// A long-poll loop that backs off after an error: it waits 1 s, 2 s, 4 s …
// (capped at 8 s) after each failure in a row, never less than the
// server's Retry-After, and starts over once an answer comes back.

let since = null;
let failures = 0; // errors in a row

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function backOffMs(res) {
  // Retry-After in seconds (a date, or none, counts as 0).
  const retryAfterMs = 1000 * (Number(res?.headers.get("Retry-After")) || 0);
  const delay = Math.max(retryAfterMs, Math.min(8000, 1000 * 2 ** failures));
  failures += 1;
  return delay;
}

async function loop() {
  while (true) {
    const url = since === null ? "/api/long-poll" : `/api/long-poll?since=${since}`;
    let res = null;
    try {
      res = await fetch(url);
    } catch (err) {
      console.log(err.message);
    }
    if (!res?.ok) {
      const delay = backOffMs(res);
      console.log(`${res?.status ?? "no answer"}: waiting ${delay / 1000} s`);
      await sleep(delay);
      continue;
    }
    failures = 0;
    const newest = res.headers.get("X-Last-Event-Id");
    if (newest !== null) since = Number(newest);
    if (res.status === 200) {
      const batch = await res.json();
      for (const event of batch.events) console.log(`#${event.id}`, event.data.text);
      since = batch.last_id;
    }
  }
}

export function main() {
  loop();
}
