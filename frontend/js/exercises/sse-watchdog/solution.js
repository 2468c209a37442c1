// An EventSource with a watchdog: silence for 3 s means the stream is
// dead even if the connection looks open, so close it and resume after
// the last id seen.

const SILENCE_MS = 3000;
const TYPES = ["note", "price", "notification", "chat"]; // each event type has its own listener
let lastId = null;
let source = null;
let timer = null;

function open() {
  source = new EventSource(lastId === null ? "/api/sse" : `/api/sse?last_event_id=${lastId}`);
  for (const type of TYPES) {
    source.addEventListener(type, (m) => {
      lastId = m.lastEventId;
      console.log(`#${m.lastEventId}`, JSON.parse(m.data).data.text ?? type);
      watch();
    });
  }
  watch();
}

function watch() {
  clearTimeout(timer);
  timer = setTimeout(() => {
    console.log(`nothing for ${SILENCE_MS / 1000} s: reconnecting after #${lastId}`);
    source.close();
    open();
  }, SILENCE_MS);
}

export function main() {
  open();
}
