// The "arriving now" list: the last few events, received over SSE.

const ROWS = 10;

export function initTail(list, onEvent) {
  const empty = document.createElement("li");
  const hint = document.createElement("span");
  hint.className = "empty";
  hint.textContent = "Waiting for events… start a feed or publish one.";
  empty.append(hint);
  list.append(empty);

  const source = new EventSource("/api/sse");
  const show = (row) => {
    if (empty.isConnected) empty.remove();
    list.prepend(row);
    while (list.children.length > ROWS) list.lastElementChild.remove();
  };

  // Every event type arrives under its own name; the generic handler sees them all.
  const handle = (message) => {
    const event = JSON.parse(message.data);
    show(eventRow(event));
    onEvent?.(event);
  };
  for (const type of ["price", "notification", "test", "greeting", "note"]) {
    source.addEventListener(type, handle);
  }
  source.onmessage = handle;
  source.addEventListener("reset", (message) => {
    const info = JSON.parse(message.data);
    const li = document.createElement("li");
    const text = document.createElement("span");
    text.className = "reset";
    text.textContent = `Reset: ${info.message}`;
    li.append(text);
    show(li);
  });
  return source;
}

function eventRow(event) {
  const li = document.createElement("li");
  const cell = (cls, text) => {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;
    span.title = text;
    return span;
  };
  const delay = Math.max(0, Date.now() - event.published_at_ms);
  li.append(
    cell("id", `#${event.id}`),
    cell("topic", `${event.topic}/${event.type}`),
    cell("data", summary(event)),
    cell("delay", `${delay} ms`),
  );
  li.querySelector(".delay").title = "Time from publish to arrival in this page, in milliseconds";
  return li;
}

function summary(event) {
  const d = event.data ?? {};
  if (event.topic === "ticker" && d.symbol) {
    const sign = d.change >= 0 ? "+" : "";
    return `${d.symbol} ${d.price.toFixed(2)} (${sign}${d.change.toFixed(2)})`;
  }
  if (d.text) return String(d.text);
  return JSON.stringify(d);
}
