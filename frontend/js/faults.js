// Fault switches (PUT /api/faults) and fault actions (deploy, half-open):
// they act on this learner's own connections only.

import { pageJson } from "./api.js";

async function json(path, options) {
  const res = await fetch(path, options);
  const body = await res.json();
  if (!res.ok) throw new Error(body.detail ?? res.statusText);
  return body;
}

const post = (path, body) => json(path, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
});

// The same calls for other pages (the network-faults lesson); `actor`
// "play" marks them as play mode's ("show me").
const as = (path, actor) => (actor === "play" ? `${path}?actor=play` : path);

/** Changes some switches, keeping the others as they are; resolves to all of them. */
export async function setFaults(changes, actor = "learner") {
  const now = await pageJson("/api/faults");
  return json(as("/api/faults", actor), {
    method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...now, ...changes }),
  });
}

/** 502s for `seconds`; resolves to `{cut, seconds}`. */
export const startDeploy = (seconds, actor = "learner") => post(as("/api/faults/deploy", actor), { seconds });

/** Freezes the open streams and sockets; resolves to `{frozen, close_after_s}`. */
export const startHalfOpen = (closeAfterS, actor = "learner") =>
  post(as("/api/faults/half-open", actor), { close_after_s: closeAfterS });

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** The switches as the form shows them: numbers, checkboxes, choices. */
function read(form) {
  const body = {};
  for (const input of form.elements) {
    if (!input.name) continue;
    if (input.type === "checkbox") body[input.name] = input.checked;
    else if (input.type === "number") body[input.name] = Number(input.value);
    else body[input.name] = input.value;
  }
  return body;
}

function show(form, switches) {
  for (const [name, value] of Object.entries(switches)) {
    const input = form.elements.namedItem(name);
    if (input?.type === "checkbox") input.checked = Boolean(value);
    else if (input) input.value = value;
  }
}

export function initFaults({ form, status, reset, dropSse, dropWs, deploy, halfOpen, actionsStatus }) {
  const load = async () => show(form, await pageJson("/api/faults"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await json("/api/faults", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(read(form)) });
      status.textContent = "Applied to the streams and sockets you open from now on.";
    } catch (err) {
      status.textContent = err.message;
    }
  });
  reset.addEventListener("click", async () => {
    await json("/api/faults", { method: "DELETE" });
    await load();
    status.textContent = "All switches off.";
  });
  for (const [button, transport] of [[dropSse, "sse"], [dropWs, "websocket"]]) {
    button.addEventListener("click", async () => {
      const r = await post("/api/connections/drop", { transport });
      status.textContent = `${plural(r.dropped, "connection", "connections")} dropped.`;
    });
  }
  deploy.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await post("/api/faults/deploy", { seconds: Number(deploy.elements.seconds.value) });
      actionsStatus.textContent = `Deploying: ${plural(r.cut, "connection", "connections")} cut; `
        + `your transport requests get 502 for ${r.seconds} s.`;
    } catch (err) {
      actionsStatus.textContent = err.message;
    }
  });
  halfOpen.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await post("/api/faults/half-open", { close_after_s: Number(halfOpen.elements.close_after_s.value) });
      actionsStatus.textContent = `${plural(r.frozen, "connection", "connections")} went silent; `
        + `the server closes them after ${r.close_after_s} s.`;
    } catch (err) {
      actionsStatus.textContent = err.message;
    }
  });
  load();
}
