// The words on the sequence diagram's arrows, in the seed's arrow style:
// what went which way, how big it was on the wire and how long it took.
// Every number carries its unit. Kept apart from the drawing so the SVG
// and its text alternative say exactly the same thing.

import { bytes, clock, millis } from "./format.js";
import { COLUMNS, Shape, Tone } from "./sequence-model.js";

const LABEL = Object.fromEntries(COLUMNS.map((c) => [c.transport, c.label]));
export const transportLabel = (t) => LABEL[t] ?? t;

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const times = (a) => (a.count > 1 ? `×${a.count} ` : "");
/** "3 ms", or "≤ 40 ms" for several. */
const upTo = (a, ms) => (ms == null ? null : `${a.count > 1 ? "≤ " : ""}${millis(ms)}`);
/** At most `n` characters, with an ellipsis when cut. */
const short = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
const join = (...parts) => parts.filter((p) => p !== null && p !== undefined && p !== "").join(" · ");

/** The path without its query (ids there are long; the tooltip has them). */
const target = (a) => short((a.first.path ?? "").split("?")[0], 24);

function eventIds(a) {
  if (a.firstEventId === null) return "";
  return a.firstEventId === a.lastEventId ? `#${a.firstEventId}` : `#${a.firstEventId}–#${a.lastEventId}`;
}

/** The request arrow of a pair (client → server). */
function requestLabel(a) {
  return `${times(a)}${join(`${a.first.method ?? "GET"} ${target(a)}`, bytes(a.bytesUp))}`;
}

/** The answer arrow of a pair (server → client); its request already says ×n. */
function answerLabel(a) {
  const status = a.first.status ?? 0;
  if (a.shape === Shape.HANDSHAKE) {
    const what = status === 101 ? "101 Switching Protocols" : status < 400 ? `${status} stream open` : `${status}`;
    return join(what, bytes(a.bytesDown));
  }
  const carried = a.events > 0 ? plural(a.events, "event") : `${bytes(a.bodyBytes)} body`;
  return join(status, carried, bytes(a.bytesDown), upTo(a, a.maxDurationMs));
}

function singleLabel(a) {
  switch (a.shape) {
    case Shape.PUSH:
      return join(a.count > 1 ? `×${a.count} events` : "event", bytes(a.bytesDown), upTo(a, a.maxDelayMs));
    case Shape.FRAME_UP: {
      const preview = a.count === 1 && a.first.preview ? ` ${short(a.first.preview, 24)}` : "";
      return `${times(a)}${join(`${a.first.frame ?? "frame"}${preview}`, bytes(a.bytesUp))}`;
    }
    case Shape.CLOSE: {
      const code = a.first.close_code != null ? ` ${a.first.close_code}` : "";
      // The numbers first: a long reason is what gets cut.
      return `${times(a)}${join(`✕ closed${code}`, upTo(a, a.maxDurationMs), a.first.close_reason)}`;
    }
    case Shape.FRAME_DOWN:
    default:
      return `${times(a)}${join(a.first.frame ?? "frame", bytes(a.bytesDown))}`;
  }
}

/**
 * The visible words of an arrow: `{ up, down }` for a pair, `{ single }` otherwise.
 */
export function arrowLabels(a) {
  if (a.shape === Shape.EXCHANGE || a.shape === Shape.HANDSHAKE) return { up: requestLabel(a), down: answerLabel(a) };
  return { single: singleLabel(a) };
}

/** Which way the arrow points, in words. */
export function directionWords(a) {
  switch (a.shape) {
    case Shape.EXCHANGE:
    case Shape.HANDSHAKE: return "client → server, then server → client";
    case Shape.FRAME_UP: return "client → server";
    case Shape.CLOSE: return "connection closed";
    default: return "server → client";
  }
}

const TONE_WORDS = { [Tone.NEWS]: "with news", [Tone.EMPTY]: "empty (no news)", [Tone.ERROR]: "an error", [Tone.PLAIN]: "" };

/** The whole story of an arrow, for its tooltip and the text alternative. */
export function arrowSentence(a) {
  const words = arrowLabels(a);
  const what = words.single ?? `${words.up}, answered ${words.down}`;
  const when = a.count > 1 ? `${clock(a.firstAt)}–${clock(a.lastAt)}` : clock(a.firstAt);
  const delay = a.maxDelayMs == null ? "" : `; delay after publish ${millis(a.minDelayMs)} to ${millis(a.maxDelayMs)}`;
  const ids = a.events ? `; events ${eventIds(a)}` : "";
  const path = a.first.path ? `; ${a.count > 1 ? "first " : ""}${a.first.method ?? "GET"} ${a.first.path}` : "";
  const tone = TONE_WORDS[a.tone] ? ` (${TONE_WORDS[a.tone]})` : "";
  return `${transportLabel(a.transport)}, ${directionWords(a)}${tone}: ${what}${path}${ids}${delay}; ` +
    `${plural(a.count, "entry", "entries")}, ${bytes(a.bytesUp)} up and ${bytes(a.bytesDown)} down on the wire, at ${when}.`;
}
