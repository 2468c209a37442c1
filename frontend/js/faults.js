// Fault switches (PUT /api/faults) and fault actions (deploy, half-open):
// they act on this learner's own connections only.

import { pageJson, sendJson } from "./api.js";

// The same calls serve other pages (the network-faults lesson); `actor`
// "play" marks them as play mode's ("show me").

/** Changes some switches, keeping the others as they are; resolves to all of them. */
export async function setFaults(changes, actor = "learner") {
  const now = await pageJson("/api/faults");
  return sendJson("PUT", "/api/faults", { ...now, ...changes }, { actor });
}

/** 502s for `seconds`; resolves to `{cut, seconds}`. */
export const startDeploy = (seconds, actor = "learner") => sendJson("POST", "/api/faults/deploy", { seconds }, { actor });

/** Freezes the open streams and sockets; resolves to `{frozen, close_after_s}`. */
export const startHalfOpen = (closeAfterS, actor = "learner") =>
  sendJson("POST", "/api/faults/half-open", { close_after_s: closeAfterS }, { actor });

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
      await sendJson("PUT", "/api/faults", read(form));
      status.textContent = "Applied to the streams and sockets you open from now on.";
    } catch (err) {
      status.textContent = err.message;
    }
  });
  reset.addEventListener("click", async () => {
    await sendJson("DELETE", "/api/faults");
    await load();
    status.textContent = "All switches off.";
  });
  for (const [button, transport] of [[dropSse, "sse"], [dropWs, "websocket"]]) {
    button.addEventListener("click", async () => {
      const r = await sendJson("POST", "/api/connections/drop", { transport });
      status.textContent = `${plural(r.dropped, "connection", "connections")} dropped.`;
    });
  }
  deploy.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await startDeploy(Number(deploy.elements.seconds.value));
      actionsStatus.textContent = `Deploying: ${plural(r.cut, "connection", "connections")} cut; `
        + `your transport requests get 502 for ${r.seconds} s.`;
    } catch (err) {
      actionsStatus.textContent = err.message;
    }
  });
  halfOpen.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await startHalfOpen(Number(halfOpen.elements.close_after_s.value));
      actionsStatus.textContent = `${plural(r.frozen, "connection", "connections")} went silent; `
        + `the server closes them after ${r.close_after_s} s.`;
    } catch (err) {
      actionsStatus.textContent = err.message;
    }
  });
  load();
}
