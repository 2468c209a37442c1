// Exercise 4: WebSocket reconnect with back-off, jitter and `since`. The
// scenario publishes events and has the server drop the learner's sockets
// three times, 3 s apart, publishing while they are away.

import { mountExercise } from "../editor/exercise.js";
import { scenarioKit } from "../editor/scenario.js";

export function mount(root) {
  return mountExercise(root, {
    label: "exercises/ws-reconnect/start.js",
    start: new URL("../exercises/ws-reconnect/start.js", import.meta.url),
    solution: new URL("../exercises/ws-reconnect/solution.js", import.meta.url),
    limits: { runMs: 40000 },
    async scenario(run) {
      const s = scenarioKit(run);
      await s.pauseFeeds();
      await s.wait(1500);
      for (let drop = 1; drop <= 3; drop++) {
        await s.publish(`before drop ${drop}`);
        await s.wait(500);
        await s.dropWebSockets();
        await s.publish(`while dropped (${drop})`);
        await s.wait(2500);
      }
      await s.publish("after the last drop");
      await s.wait(1500);
      s.say("done: three drops");
    },
  });
}
