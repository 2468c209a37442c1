// Exercise 5: a chat over SSE + POST that shows every message exactly once.
// The learner's code calls show(id, text) for each message it puts on
// screen; this widget reports each one to the server
// (POST /api/chat/shown/{id}), where the step's checks compare what was
// shown with what the code's chat stream delivered. The scenario plays two
// other people writing while the code sends its own two messages.

import { sendJson } from "../api.js";
import { mountExercise } from "../editor/exercise.js";
import { scenarioKit } from "../editor/scenario.js";

/** Most reports one run sends (the sandbox also caps show() at 500). */
const MAX_REPORTS = 200;

async function say(text, actor) {
  return (await sendJson("POST", "/api/chat", { text }, { actor })).id;
}

export function mount(root) {
  let reports = 0;
  return mountExercise(root, {
    label: "exercises/chat/start.js",
    start: new URL("../exercises/chat/start.js", import.meta.url),
    solution: new URL("../exercises/chat/solution.js", import.meta.url),
    limits: { runMs: 30000 },
    onShown({ id }, actor) {
      reports += 1;
      if (reports > MAX_REPORTS) return;
      sendJson("POST", `/api/chat/shown/${id}`, undefined, { actor }).catch(() => {});
    },
    async scenario(run) {
      reports = 0;
      const s = scenarioKit(run);
      await s.pauseFeeds();
      await s.wait(1000);
      s.say(`Ada wrote #${await say("Ada: hi, who else is here?", run.actor)}`);
      await s.wait(2000);
      s.say(`Lin wrote #${await say("Lin: welcome! I am.", run.actor)}`);
      await s.wait(2000);
      s.say("done: two messages of yours, two of others; the run ends here");
    },
  });
}
