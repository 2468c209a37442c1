// Exercise: a long-poll loop that does not hammer a failing server.
//
// This loop asks GET /api/long-poll again the moment an answer ends. That
// is right after news, but after an error it asks again at once, and a
// server answering 503 ("overloaded") answers in a millisecond: the loop
// sends hundreds of requests a second to the server least able to take
// them. Make it wait after an error, longer after each failure in a row
// (exponential back-off, capped), never less than the Retry-After header,
// and start over once an answer comes back.
//
// Run it: the page turns on "long-polls fail (503)" for 6 s. The check
// wants the 503s, waits that grow (the longest at least twice the
// shortest, none under 0.5 s), at most 8 errors, and a long-poll answered
// again after the outage.

let since = null;

async function loop() {
  while (true) {
    const url = since === null ? "/api/long-poll" : `/api/long-poll?since=${since}`;
    const res = await fetch(url);
    if (!res.ok) {
      console.log(`${res.status}: asking again at once`);
      continue;
    }
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
