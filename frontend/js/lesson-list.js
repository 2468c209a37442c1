// The list of lessons with the learner's progress in each.

import { getJson } from "./api.js";

export async function renderLessonList(root) {
  const lessons = await getJson("/api/lessons");
  const list = document.createElement("ol");
  list.className = "lesson-list";
  for (const l of lessons) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/lessons/${l.slug}`;
    const title = document.createElement("strong");
    title.textContent = l.title;
    const summary = document.createElement("span");
    summary.className = "muted small";
    summary.textContent = `${l.summary} · ${l.minutes} min`;
    const done = document.createElement("span");
    done.className = `lesson-progress small ${l.checked_steps && l.done_steps === l.checked_steps ? "good" : ""}`;
    const helped = l.done_steps - l.done_alone;
    done.textContent = l.checked_steps
      ? `${l.done_steps} of ${l.checked_steps} ${l.checked_steps === 1 ? "step" : "steps"} done` +
        (l.done_steps ? ` · ${l.done_alone} on your own${helped ? `, ${helped} with help` : ""}` : "")
      : "reading only";
    a.append(title, summary);
    li.append(a, done);
    list.append(li);
  }
  const heading = document.createElement("h2");
  heading.textContent = `${list.children.length} short lessons`;
  root.replaceChildren(heading, list);
}
