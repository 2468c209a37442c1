// The six-connections-per-origin demo: seven EventSources, one of which
// cannot connect until another closes (HTTP/1.1 only).

import { openStream, STREAM } from "./clients/sse.js";
import { el } from "./dom.js";

export function initSix(list, openButton, closeButton) {
  let sources = [];
  let timer = null;
  const close = () => {
    clearTimeout(timer);
    for (const s of sources) s.close();
    for (const li of list.children) {
      if (!li.dataset.state || li.dataset.state === "waiting") li.dataset.state = "closed";
    }
    sources = [];
    openButton.disabled = false;
  };
  openButton.addEventListener("click", () => {
    close();
    list.replaceChildren();
    openButton.disabled = true;
    for (let i = 1; i <= 7; i++) {
      const state = el("span", { class: "six-state", text: "waiting for a connection…" });
      const li = el("li", { "data-state": "waiting" }, el("span", { text: `Stream ${i}: ` }), state);
      list.append(li);
      const started = performance.now();
      const source = openStream({
        query: `topics=six-${i}&duration=9`,
        onEvent: () => {},
        onStatus: (what) => {
          if (what === STREAM.open) {
            li.dataset.state = "open";
            state.textContent = `open after ${Math.round(performance.now() - started)} ms`;
          } else if (what !== STREAM.reset) source.close(); // the stream ended: no retries
        },
      });
      sources.push(source);
    }
    timer = setTimeout(() => {
      close();
      list.append(el("li", { class: "muted", text: "Closed all seven: the connections are free again." }));
    }, 8000);
  });
  closeButton.addEventListener("click", close);
}
