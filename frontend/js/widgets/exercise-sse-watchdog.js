// Exercise 3: an EventSource watchdog. The scenario publishes an event a
// second, makes the learner's streams half-open (the server stops writing
// and keeps the connection for a minute), and goes on publishing; only a
// watchdog that reconnects with the last id gets those events.

import { mountExercise } from "../editor/exercise.js";
import { scenarioKit } from "../editor/scenario.js";

export function mount(root) {
  return mountExercise(root, {
    label: "exercises/sse-watchdog/start.js",
    start: new URL("../exercises/sse-watchdog/start.js", import.meta.url),
    solution: new URL("../exercises/sse-watchdog/solution.js", import.meta.url),
    limits: { runMs: 40000 },
    async scenario(run) {
      const s = scenarioKit(run);
      await s.pauseFeeds();
      await s.wait(1500);
      for (let i = 1; i <= 2; i++) {
        await s.publish(`before the fault, ${i} of 2`);
        await s.wait(1000);
      }
      await s.halfOpen(60);
      for (let i = 1; i <= 3; i++) {
        await s.wait(1000);
        await s.publish(`while the stream is silent, ${i} of 3`);
      }
      await s.wait(4500);
      s.say("done: a watchdog had 4.5 s to notice and resume");
    },
  });
}
