// Small helpers around fetch: JSON in, JSON (or a problem document) out.

export async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  return readJson(res);
}

/** A read the page makes for itself (the feeds' state, the fault switches):
 * the header keeps it out of the learner's traffic log. */
export async function pageJson(path) {
  const res = await fetch(path, { headers: { Accept: "application/json", "X-Playground-Page": "1" } });
  return readJson(res);
}

export async function sendJson(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  return readJson(res);
}

async function readJson(res) {
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) {
    // Problem documents (RFC 9457) carry a sentence in `detail`.
    throw new Error(body?.detail ?? `${res.status} ${res.statusText}`);
  }
  return body;
}
