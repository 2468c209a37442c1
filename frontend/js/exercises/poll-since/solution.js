// A poller that never downloads an event twice: it sends the newest id it
// has seen as `since`, and the server answers only with newer events.

let since = null;

async function poll() {
  // The first ask only learns where "now" is (204 + X-Last-Event-Id).
  const url = since === null ? "/api/poll?from=newest" : `/api/poll?since=${since}`;
  const res = await fetch(url);
  const newest = res.headers.get("X-Last-Event-Id");
  if (newest !== null) since = Number(newest);
  if (res.status === 200) {
    const batch = await res.json();
    for (const event of batch.events) console.log(`#${event.id}`, event.data.text);
    since = batch.last_id;
  }
}

export function main() {
  setInterval(poll, 1000);
}
