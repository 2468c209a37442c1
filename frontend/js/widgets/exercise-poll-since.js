// Exercise 1: polling with `since`. The scenario publishes five events, a
// second or so apart, while the learner's poller runs; the step's checks
// count what the polls brought (every event once) and how many it took.

import { mountExercise } from "../editor/exercise.js";
import { scenarioKit } from "../editor/scenario.js";

export function mount(root) {
  return mountExercise(root, {
    label: "exercises/poll-since/start.js",
    start: new URL("../exercises/poll-since/start.js", import.meta.url),
    solution: new URL("../exercises/poll-since/solution.js", import.meta.url),
    limits: { runMs: 30000 },
    async scenario(run) {
      const s = scenarioKit(run);
      await s.pauseFeeds();
      await s.wait(1500);
      for (let i = 1; i <= 5; i++) {
        await s.publish(`event ${i} of 5`);
        await s.wait(1200);
      }
      await s.wait(1500);
      s.say("done: every event was published; the run ends here");
    },
  });
}
