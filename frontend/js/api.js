// The page's one way to talk JSON to the server: every module of the UI
// calls through here, so headers, the actor mark and problem documents are
// handled the same everywhere. (The files in clients/ and exercises/ are
// the exception: they are teaching material, shown to the learner and run
// in a sandbox, so they stay plain fetch.)
//
// Two marks a request can carry, never both:
// - `page`: the page's own bookkeeping read (the feeds' state, the fault
//   switches). The X-Playground-Page header keeps it out of the learner's
//   traffic log; the server honours it on GETs only, and nothing the
//   learner does may carry it.
// - `actor: "play"`: play mode ("show me") acting for the learner; the
//   lesson counts it as watched, not done.

/** An answer that was not 2xx; `problem` is its RFC 9457 document, if it sent one. */
export class ProblemError extends Error {
  constructor(status, statusText, problem) {
    super(problem?.detail ?? `${status} ${statusText}`);
    this.status = status;
    this.problem = problem;
  }
}

/** The URL with `actor=play` added when play mode acts. */
export function withActor(url, actor) {
  if (actor !== "play") return url;
  return `${url}${url.includes("?") ? "&" : "?"}actor=play`;
}

/**
 * `method path`, with `body` as JSON if given; resolves to the answer's
 * JSON (null for an empty answer), rejects with a ProblemError.
 * `credentials: "include"` sends the learner's cookie to another origin
 * (the cluster lesson's instances).
 */
export async function requestJson(method, path, { body, actor = "learner", page = false, credentials } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (page) headers["X-Playground-Page"] = "1";
  const res = await fetch(withActor(path, actor), {
    method,
    headers,
    credentials,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    if (res.ok) throw new Error(`${path} did not answer JSON`);
  }
  if (!res.ok) throw new ProblemError(res.status, res.statusText, json);
  return json;
}

/** A read the learner makes (it lands in their traffic log where the server logs its path). */
export const getJson = (path, options) => requestJson("GET", path, options);

/** A read the page makes for itself: kept out of the learner's traffic log. */
export const pageJson = (path) => requestJson("GET", path, { page: true });

export const sendJson = (method, path, body, options) => requestJson(method, path, { ...options, body });

/** A text file the page shows (a client's source), or throws. */
export async function getText(path) {
  const res = await fetch(path);
  if (!res.ok) throw new ProblemError(res.status, res.statusText, null);
  return res.text();
}
