// An exercise: the editor holding a starting file, a scenario the page
// plays while the code runs (publishing events, cutting connections), and
// "show me", which runs the reference solution as play mode. The step's
// checks judge the traffic; nothing here decides pass or fail.

import { getText } from "../api.js";
import { el } from "../dom.js";
import { mountCodeRunner } from "./runner.js";

/**
 * `exercise`: { label, start, solution (URLs of the files), scenario, limits,
 * onShown (for code that calls show(id, text)) }.
 * The widget's controller lets play mode press "run solution".
 */
export function mountExercise(root, exercise) {
  const runner = { current: null };
  const intro = el("p", { class: "muted small", text: `Starting file: ${new URL(exercise.start).pathname}. Edit it, then Run: the page plays the scenario against your code and the step's checks judge your traffic.` });
  root.append(intro);
  const ready = Promise.all([exercise.start, exercise.solution].map(getText))
    .then(([start, solution]) => {
      runner.current = mountCodeRunner({ code: start, original: start, label: exercise.label, scenario: exercise.scenario, limits: exercise.limits, onShown: exercise.onShown });
      root.append(runner.current.node);
      return solution;
    });
  return {
    /** Play mode: "run solution" puts the reference solution in the editor and runs it. */
    async press(label, { actor = "learner" } = {}) {
      if (label !== "run solution") throw new Error(`this exercise has no "${label}" button`);
      const solution = await ready;
      runner.current.editor.text = solution;
      await runner.current.run({ actor });
    },
    stop() { runner.current?.stop(); },
    stopClients() { runner.current?.stop(); },
    get running() { return runner.current?.running ?? false; },
  };
}
