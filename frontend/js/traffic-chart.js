import { bytes } from "./format.js";

// A small chart of the last 60 s: requests (bars) and bytes (line) per
// second, one colour per transport. Drawn on a canvas from log entries.

const WINDOW_S = 60;
export const COLORS = {
  poll: "--c-poll",
  long_poll: "--c-long-poll",
  sse: "--c-sse",
  websocket: "--c-ws",
  api: "--c-api",
};

export class TrafficChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.entries = [];
    this.filter = "";
    new ResizeObserver(() => this.draw()).observe(canvas);
    setInterval(() => this.draw(), 1000);
  }

  add(entry) {
    this.entries.push(entry);
    const cutoff = Date.now() - WINDOW_S * 1000;
    while (this.entries.length && this.entries[0].at_ms < cutoff) this.entries.shift();
  }

  clear() { this.entries = []; this.draw(); }

  draw() {
    const { canvas } = this;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (!w || !h) return;
    canvas.width = w * dpr;
    canvas.height = h * dpr;
    const ctx = canvas.getContext("2d");
    ctx.scale(dpr, dpr);
    const style = getComputedStyle(canvas);
    const now = Date.now();
    const buckets = Array.from({ length: WINDOW_S }, () => ({ count: {}, bytes: 0 }));
    for (const e of this.entries) {
      if (this.filter && e.transport !== this.filter) continue;
      const age = Math.floor((now - e.at_ms) / 1000);
      if (age < 0 || age >= WINDOW_S) continue;
      const b = buckets[WINDOW_S - 1 - age];
      // Requests and connections count as "asks"; pushed frames count as bytes only.
      if (e.kind === "exchange" || e.kind === "opened") {
        b.count[e.transport] = (b.count[e.transport] ?? 0) + 1;
      }
      if (e.kind !== "closed") b.bytes += e.bytes_up + e.bytes_down;
    }
    const maxCount = Math.max(1, ...buckets.map((b) => Object.values(b.count).reduce((a, c) => a + c, 0)));
    const maxBytes = Math.max(1, ...buckets.map((b) => b.bytes));
    const pad = { l: 34, r: 56, t: 8, b: 18 };
    const cw = (w - pad.l - pad.r) / WINDOW_S;
    const ch = h - pad.t - pad.b;
    const muted = style.getPropertyValue("--muted").trim();
    ctx.font = `11px ${style.getPropertyValue("--font")}`;
    ctx.fillStyle = muted;
    ctx.strokeStyle = style.getPropertyValue("--line").trim();
    ctx.beginPath();
    ctx.moveTo(pad.l, pad.t + ch + 0.5);
    ctx.lineTo(w - pad.r, pad.t + ch + 0.5);
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(`${maxCount} req/s`, pad.l - 4 + 30, pad.t + 9);
    ctx.textAlign = "left";
    ctx.fillText(`${bytes(maxBytes)}/s`, w - pad.r + 4, pad.t + 9);
    ctx.fillText("now", w - pad.r - 18, h - 4);
    ctx.fillText(`−${WINDOW_S} s`, pad.l, h - 4);
    buckets.forEach((b, i) => {
      let y = pad.t + ch;
      for (const [t, n] of Object.entries(b.count)) {
        const bh = (n / maxCount) * ch;
        ctx.fillStyle = style.getPropertyValue(COLORS[t]).trim();
        ctx.fillRect(pad.l + i * cw + 1, y - bh, Math.max(1, cw - 2), bh);
        y -= bh;
      }
    });
    ctx.strokeStyle = style.getPropertyValue("--text").trim();
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    buckets.forEach((b, i) => {
      const x = pad.l + i * cw + cw / 2;
      const y = pad.t + ch - (b.bytes / maxBytes) * ch;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
}
