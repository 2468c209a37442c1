// Exercise: a poller that never downloads an event twice.
//
// This poller asks GET /api/poll every second without a cursor, so every
// answer brings the newest events again, the ones it already has too.
// Make it send `since` (the newest id it has seen) so the server sends
// only what is new. Tip: start with `from=newest` to skip the backlog.
//
// Run it: the page publishes 5 events while it runs. The check wants all
// 5 events, none downloaded twice, in at most 15 polls.

async function poll() {
  const res = await fetch("/api/poll");
  if (res.status === 200) {
    const batch = await res.json();
    for (const event of batch.events) console.log(`#${event.id}`, event.data.text);
  }
}

export function main() {
  setInterval(poll, 1000);
}
