// Exercise 2: a long-poll loop that backs off after an error. The step's
// live pane has the fault switch itself ("My long-polls fail (503)", the
// `long_poll_unavailable` switch of PUT /api/faults); the scenario turns it
// on for 6 s through the same control, so the learner sees the outage
// start and end, and always turns it off again when the run ends.

import { pageJson } from "../api.js";
import { el } from "../dom.js";
import { mountExercise } from "../editor/exercise.js";
import { scenarioKit } from "../editor/scenario.js";
import { setFaults } from "../faults.js";

const OUTAGE_MS = 6000;

/** The switch as a pressed/unpressed button with a status line. */
function outageSwitch() {
  const button = el("button", { type: "button", class: "ghost", text: "My long-polls fail (503)", "data-action": "fault-long-poll-unavailable" });
  button.setAttribute("aria-pressed", "false");
  const state = el("p", { class: "widget-status muted small", "aria-live": "polite", text: "Off: long-polls are answered as usual." });
  const node = el("div", { class: "widget-controls" }, button, state);
  const showState = (on) => {
    button.setAttribute("aria-pressed", String(on));
    state.textContent = on
      ? "On: every long-poll of yours gets 503 Service Unavailable at once, with Retry-After: 1 (s)."
      : "Off: long-polls are answered as usual.";
  };
  const set = async (on, actor = "learner") => {
    try {
      showState((await setFaults({ long_poll_unavailable: on }, actor)).long_poll_unavailable);
    } catch (err) {
      state.textContent = err.message;
    }
  };
  button.addEventListener("click", () => set(button.getAttribute("aria-pressed") !== "true"));
  // The switch may have been left on (here or on the lab page): show it as it is.
  pageJson("/api/faults").then((s) => showState(s.long_poll_unavailable), () => {});
  return { node, set };
}

export function mount(root) {
  const outage = outageSwitch();
  const exercise = mountExercise(root, {
    label: "exercises/long-poll-backoff/start.js",
    start: new URL("../exercises/long-poll-backoff/start.js", import.meta.url),
    solution: new URL("../exercises/long-poll-backoff/solution.js", import.meta.url),
    limits: { runMs: 30000 },
    async scenario(run) {
      const s = scenarioKit(run);
      try {
        await s.pauseFeeds();
        await s.wait(1500);
        await outage.set(true, run.actor);
        s.say(`turned on "long-polls fail" for ${OUTAGE_MS / 1000} s: every long-poll of yours now gets 503`);
        // Ends the long-poll already waiting (it passed the switch before it was on).
        await s.publish("the last event before the outage");
        await s.wait(OUTAGE_MS);
        await outage.set(false, run.actor);
        s.say("turned it off: the server answers long-polls again");
        await s.wait(2000);
        await s.publish("the first event after the outage");
        await s.wait(1500);
        s.say("done: the run ends here");
      } finally {
        await outage.set(false, run.actor);
      }
    },
  });
  root.append(outage.node); // after the intro, before the editor (which loads after)
  return exercise;
}
