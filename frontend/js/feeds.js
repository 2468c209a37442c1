// The feed list: start, pause and re-rate the built-in publishers.

import { pageJson, sendJson } from "./api.js";

const RATES = [
  [250, "4 per second"],
  [500, "2 per second"],
  [1000, "1 per second"],
  [2000, "1 every 2 s"],
  [5000, "1 every 5 s"],
  [10000, "1 every 10 s"],
];

export async function initFeeds(list, status) {
  const render = (feeds) => {
    list.replaceChildren(...feeds.map((feed) => row(feed, update)));
  };
  const update = async (name, change) => {
    try {
      await sendJson("PATCH", `/api/feeds/${encodeURIComponent(name)}`, change);
      await refresh();
    } catch (err) {
      status.textContent = `Could not change ${name}: ${err.message}`;
    }
  };
  const refresh = async () => {
    const hub = await pageJson("/api/status");
    render(hub.feeds);
    status.textContent =
      `Newest event #${hub.last_id} · buffer holds ${hub.buffered} of ${hub.buffer_capacity} events`;
  };
  try {
    await refresh();
  } catch (err) {
    status.textContent = `The server is not answering (${err.message}).`;
  }
  return refresh;
}

function row(feed, update) {
  const li = document.createElement("li");
  li.className = "feed";

  const label = document.createElement("div");
  const name = document.createElement("span");
  name.className = "feed-name";
  name.textContent = feed.name;
  const meta = document.createElement("span");
  meta.className = "feed-meta";
  meta.textContent = `${feed.published} events published · ${feed.running ? "running" : "paused"}`;
  label.append(name, meta);

  const rate = document.createElement("select");
  rate.setAttribute("aria-label", `Rate of ${feed.name}`);
  const rates = RATES.some(([ms]) => ms === feed.interval_ms)
    ? RATES
    : [...RATES, [feed.interval_ms, `1 every ${feed.interval_ms} ms`]];
  for (const [ms, text] of rates) {
    const opt = new Option(text, String(ms), false, ms === feed.interval_ms);
    rate.add(opt);
  }
  rate.addEventListener("change", () => update(feed.name, { interval_ms: Number(rate.value) }));

  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.setAttribute("aria-pressed", String(!feed.running));
  toggle.textContent = feed.running ? "Pause" : "Start";
  toggle.setAttribute("aria-label", `${feed.running ? "Pause" : "Start"} ${feed.name}`);
  toggle.dataset.feed = feed.name;
  toggle.dataset.running = String(feed.running);
  toggle.addEventListener("click", () => update(feed.name, { running: !feed.running }));

  li.append(label, rate, toggle);
  return li;
}
