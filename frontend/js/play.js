// Play mode ("show me"): the page performs a step's actions itself — starts
// clients, publishes, drops connections — and narrates as it goes, with
// pause, next-action and replay. Everything it sends carries `actor=play`,
// so the lesson counts it as watched, not as the learner's own work.
// "Read aloud" uses the browser's speech synthesis.

import { sendJson } from "./api.js";
import { LongPollingClient, PollingClient, SseClient, WebSocketClient, runAs } from "./clients.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Everything play mode sends is play's own. */
const send = (method, path, body) => sendJson(method, path, body, { actor: "play" });

const WIDGET_OF = { poll: "poll", "long-poll": "long-poll", sse: "sse", ws: "ws" };

export class Player {
  constructor({ narration, speak, buttons, widget, onFinished }) {
    this.onFinished = onFinished;
    this.narration = narration;
    this.speak = speak;
    this.buttons = buttons;
    this.widget = widget;
    this.background = {};
    this.run = 0;
    this.paused = false;
    this.skip = null;
    buttons.pause.addEventListener("click", () => this.togglePause());
    buttons.next.addEventListener("click", () => this.skip?.());
    if (!("speechSynthesis" in window)) {
      speak.disabled = true;
      speak.parentElement.title = "This browser has no speech synthesis";
    }
  }

  say(text) {
    this.narration.textContent = text;
    if (this.speak.checked && "speechSynthesis" in window) {
      speechSynthesis.cancel();
      speechSynthesis.speak(new SpeechSynthesisUtterance(text));
    }
  }

  /** The widget's controller when it is the client named (or holds it, as
   * the comparison and the chat do), else a background client. */
  client(name) {
    const w = this.widget();
    // A widget that holds clients of its own (the network-faults lesson) lends them.
    if (w?.controller.clients?.[name]) {
      this.highlight(true);
      return w.controller.clients[name];
    }
    if (w?.name === WIDGET_OF[name] && w.controller.start) {
      this.highlight(true);
      return w.controller;
    }
    const held = w?.controller.clients?.[name];
    if (held) {
      this.highlight(true);
      return held;
    }
    this.background[name] ??= {
      poll: () => new PollingClient({ intervalMs: 1000 }),
      "long-poll": () => new LongPollingClient(),
      sse: () => new SseClient(),
      ws: () => new WebSocketClient(),
    }[name]();
    return this.background[name];
  }

  highlight(on) {
    document.getElementById("live-pane")?.classList.toggle("playing", on);
  }

  async perform(a) {
    switch (a.action) {
      case "say": this.say(a.text); break;
      case "start": {
        // A client the learner started is restarted as play mode's own.
        const client = this.client(a.target);
        client.stop();
        client.start({ actor: "play" });
        break;
      }
      case "stop": this.client(a.target).stop(); break;
      case "publish": {
        const r = await send("POST", "/api/events", { topic: "demo", type: "note", data: { text: a.text || "Hello" } });
        this.narration.textContent = `Published event #${r.id}.`;
        break;
      }
      case "feed":
        await send("PATCH", `/api/feeds/${a.target}`, { running: a.value === 1 });
        window.dispatchEvent(new CustomEvent("playground:feeds"));
        break;
      case "drop": await send("POST", "/api/connections/drop", { transport: "sse" }); break;
      case "ws_send": {
        const ws = this.client("ws");
        runAs(ws, "play");
        await Promise.race([ws.ready(), sleep(3000)]);
        ws.send(a.text);
        break;
      }
      case "wait": await this.wait(a.value * 1000); break;
      // Widget actions: the live widget does them through its own controls, as play mode's.
      case "chat": await this.widgetDoes("chat", a.target, a.text); break;
      case "decide": await this.widgetDoes("decide", a.target, a.text, a.factor); break;
      case "answer": await this.widgetDoes("answer", a.text); break;
      case "press": await this.widgetDoes("press", a.text); break;
      case "fault": case "deploy": case "half_open": case "watchdog": case "storm": case "latency": case "bad": {
        // The network-faults widget does these, with actor=play.
        const act = this.widget()?.controller.act;
        if (!act) throw new Error(`"${a.action}" needs the faults widget`);
        await act(a, "play");
        break;
      }
      default: break;
    }
  }

  /** Asks the live widget to do `verb` as play mode. */
  async widgetDoes(verb, ...args) {
    const controller = this.widget()?.controller;
    if (typeof controller?.[verb] !== "function") throw new Error(`this step's widget cannot ${verb}`);
    this.highlight(true);
    await controller[verb](...args, { actor: "play" });
  }

  /** Waits, but "Next action" cuts it short and "Pause" holds it. */
  async wait(ms) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.skip = () => { clearTimeout(timer); resolve(); };
    });
    this.skip = null;
  }

  async play(actions) {
    const run = ++this.run;
    this.paused = false;
    this.buttons.play.textContent = "↻ Replay";
    this.buttons.pause.disabled = false;
    this.buttons.next.disabled = false;
    document.body.classList.add("is-playing");
    try {
      for (const a of actions) {
        while (this.paused && run === this.run) await sleep(100);
        if (run !== this.run) return;
        this.narration.dataset.action = a.action;
        await this.perform(a);
        if (a.action === "say") await this.wait(Math.min(6000, 1200 + a.text.length * 45));
      }
      if (run === this.run) {
        this.say("That was play mode: the step counts as watched, not done. Now you try: do it yourself with the widget.");
        this.onFinished?.();
      }
    } catch (err) {
      this.narration.textContent = `Play stopped: ${err.message}`;
    } finally {
      if (run === this.run) this.finish();
    }
  }

  togglePause() {
    this.paused = !this.paused;
    this.buttons.pause.textContent = this.paused ? "Resume" : "Pause";
    if (this.paused && "speechSynthesis" in window) speechSynthesis.pause();
    else if ("speechSynthesis" in window) speechSynthesis.resume();
  }

  finish() {
    delete this.narration.dataset.action;
    this.buttons.pause.disabled = true;
    this.buttons.next.disabled = true;
    this.buttons.pause.textContent = "Pause";
    document.body.classList.remove("is-playing");
    this.highlight(false);
  }

  stop() {
    this.run++;
    for (const c of Object.values(this.background)) c.stop();
    this.background = {};
    this.finish();
    this.buttons.play.textContent = "▶ Play this step";
    this.narration.textContent = "";
  }
}
