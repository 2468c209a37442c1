// The "arriving now" list: the last few events, received over SSE with the
// lessons' own client (every event type shows, a learner's own too).

import { openStream, STREAM } from "./clients/sse.js";

const ROWS = 10;

export function initTail(list, onEvent) {
  const empty = document.createElement("li");
  const hint = document.createElement("span");
  hint.className = "empty";
  hint.textContent = "Waiting for events… start a feed or publish one.";
  empty.append(hint);
  list.append(empty);

  const show = (row) => {
    if (empty.isConnected) empty.remove();
    list.prepend(row);
    while (list.children.length > ROWS) list.lastElementChild.remove();
  };
  const source = openStream({
    onEvent: (event) => {
      show(eventRow(event));
      onEvent?.(event);
    },
    onStatus: (what, message) => {
      if (what !== STREAM.reset) return;
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.className = "reset";
      text.textContent = `Reset: ${message}`;
      li.append(text);
      show(li);
    },
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
