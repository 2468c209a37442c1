// A lesson: its steps on the left, the live widget of the current step and
// the learner's own traffic on the right, progress ticking as they go.

import { el } from "./dom.js";
import { initTheme } from "./theme.js";
import { mountTrafficPanel } from "./traffic-panel.js";
import { Player } from "./play.js";
import { renderLessonList } from "./lesson-list.js";
import { mountStepTask } from "./step-task.js";
import { getJson, sendJson } from "./api.js";
import { mountStage } from "./stage.js";

const $ = (id) => document.getElementById(id);
initTheme($("theme"));

const slug = decodeURIComponent(location.pathname.replace(/^\/lessons\/?/, "").replace(/\/$/, ""));
const WIDGETS = {};
let lesson = null;
let stepIndex = 0;
let progress = null;
// A widget's mount() returns its controller: stop() unmounts it; the optional
// stopClients() stops what it left running when the next step keeps it;
// the rest is what play mode calls (start, send, press, clients, act…).
let widget = null; // { name, controller }
let stage = null; // feeds + publish, under the widget of transport lessons
let player = null;
let task = null; // the step's task box (checks, prediction, hints)
// Counts showStep calls: a learner pressing → quickly starts several, and
// only the newest may touch the page once its awaits return.
let showing = 0;

async function loadWidget(name) {
  WIDGETS[name] ??= await import(`./widgets/${name}.js`);
  return WIDGETS[name];
}


const ctx = () => ({ slug, lesson, refreshProgress });

async function showStep(i, { focus = false } = {}) {
  const generation = ++showing;
  const current = () => generation === showing;
  player?.stop();
  stepIndex = Math.max(0, Math.min(lesson.steps.length - 1, i));
  const step = lesson.steps[stepIndex];
  history.replaceState(null, "", `#${step.id}`);
  const text = $("lesson-text");
  const body = el("div", { class: "step-body" });
  // The HTML was rendered and sanitized by the server.
  body.innerHTML = step.html;
  for (const marker of body.querySelectorAll(".widget[data-widget]")) {
    marker.replaceWith(el("p", { class: "widget-pointer" }, "▶ The live ", el("strong", { text: marker.dataset.widget }), " widget for this step is in the pane on the right (below on small screens)."));
  }
  const intro = stepIndex === 0 && lesson.intro_html ? el("div", { class: "intro" }) : null;
  if (intro) intro.innerHTML = lesson.intro_html;
  const checks = step.checks.length ? el("div", { class: "step-checks", id: "step-checks" }) : null;
  text.replaceChildren(...[intro, el("h2", { text: step.title, id: step.id }), body, checks].filter(Boolean));
  task = null;
  if (checks) {
    const mine = mountStepTask(checks, { slug, step, onShowMe: () => showMe(), onProgress: refreshProgress });
    task = mine;
    // Entering opens the step's window: only what the learner does from now on counts.
    try {
      mine.refresh(await sendJson("POST", `/api/lessons/${encodeURIComponent(slug)}/steps/${encodeURIComponent(step.id)}/enter`));
    } catch (err) {
      // The next refresh shows the state; this says why the window did not open.
      mine.notice(`This step could not be started: ${err.message}`);
    }
    if (!current()) return;
  }
  $("step-pos").textContent = `Step ${stepIndex + 1} of ${lesson.steps.length}`;
  $("prev-step").disabled = stepIndex === 0 && !lesson.previous;
  $("next-step").textContent = stepIndex === lesson.steps.length - 1 ? (lesson.next ? "Next lesson →" : "Finish") : "Next →";
  $("play").disabled = step.play.length === 0;
  $("play").textContent = "▶ Show me";
  $("play").title = step.play.length ? "The page performs this step for you, narrating each request (it counts as watched, not done)" : "This step has nothing to show";
  await mountStepWidget(step, current);
  if (!current()) return;
  renderToc();
  renderChecks();
  if (focus) text.focus();
}

/** `current()`: false once a newer step is being shown (then this one leaves the pane alone). */
async function mountStepWidget(step, current) {
  const pane = $("live-pane");
  const name = step.widget ?? defaultWidget();
  if (widget?.name === name) {
    // A step starts from a clean slate: what the widget left running stops
    // (a check judges only what the learner does here; a poller left on
    // would tick "poll three times" by itself).
    widget.controller?.stopClients?.();
    return;
  }
  const module = name ? await loadWidget(name) : null;
  if (!current()) return;
  widget?.controller?.stop?.();
  stage?.stop();
  stage = null;
  pane.replaceChildren();
  widget = null;
  if (!module) {
    pane.append(el("p", { class: "muted small", text: "This step has no live widget. The traffic log below still shows everything you do." }));
    return;
  }
  const box = el("div", { class: `widget-box w-${name}` }, el("h3", { class: "widget-title", text: `Live: ${name}` }));
  pane.append(box);
  widget = { name, controller: module.mount(box, ctx()) ?? {} };
  const staged = ["poll", "long_poll", "sse", "websocket", "compare"].includes(lesson.transport);
  if (staged && !["feeds", "publish", "sequence", "load", "cluster", "decide", "interview", "grader"].includes(name)) stage = mountStage(pane);
}

function defaultWidget() {
  return { poll: "poll", long_poll: "long-poll", sse: "sse", websocket: "ws" }[lesson.transport] ?? null;
}

/**
 * The table of contents: links made once per lesson, then updated in place,
 * so the 1.5 s progress refresh never replaces a link being clicked or
 * holding keyboard focus.
 */
function renderToc() {
  const toc = $("toc");
  if (toc.childElementCount !== lesson.steps.length) {
    toc.replaceChildren(...lesson.steps.map((s, i) => {
      const link = el("a", { href: `#${s.id}`, class: "toc-link" },
        el("span", { class: "mark", "aria-hidden": "true" }),
        el("span", { text: s.title }),
        el("span", { class: "visually-hidden" }));
      link.addEventListener("click", (e) => { e.preventDefault(); showStep(i, { focus: true }); });
      return el("li", {}, link);
    }));
  }
  lesson.steps.forEach((s, i) => {
    const p = progress?.steps.find((x) => x.id === s.id);
    const state = !s.checks.length ? "read" : p?.done ? (p.helped ? "done helped" : "done") : p?.watched ? "watched" : "todo";
    const mark = { read: "·", done: "✓", "done helped": "✓", watched: "▷", todo: "○" }[state];
    const spoken = { read: "", done: " (done on your own)", "done helped": " (done with help)", watched: " (watched, not done yet)", todo: " (to do)" }[state];
    const link = toc.children[i].firstElementChild;
    const [markEl, , spokenEl] = link.children;
    const cls = `toc-link ${state}`;
    if (link.className !== cls) link.className = cls;
    const current = i === stepIndex ? "step" : "false";
    if (link.getAttribute("aria-current") !== current) link.setAttribute("aria-current", current);
    if (markEl.textContent !== mark) markEl.textContent = mark;
    if (spokenEl.textContent !== spoken) spokenEl.textContent = spoken;
  });
}

function renderChecks() {
  const step = lesson.steps[stepIndex];
  const p = progress?.steps.find((x) => x.id === step.id);
  if (p) task?.refresh(p);
}

/** "Show me": recorded on the server, then played with actor=play. */
async function showMe() {
  const step = lesson.steps[stepIndex];
  if (!step.play.length) return;
  if (step.checks.length) {
    try {
      await sendJson("POST", `/api/lessons/${encodeURIComponent(slug)}/steps/${encodeURIComponent(step.id)}/shown`);
    } catch {
      // Playing still works; the record is best effort.
    }
  }
  player.play(step.play);
}

async function refreshProgress() {
  try {
    // POST: judged and kept (a step stays done once it held); a GET only looks.
    progress = await sendJson("POST", `/api/lessons/${slug}/progress`);
    const pct = progress.total ? Math.round((progress.done / progress.total) * 100) : 100;
    const bar = $("progress");
    bar.setAttribute("aria-valuenow", String(pct));
    bar.querySelector("span").style.width = `${pct}%`;
    bar.title = `${progress.done} of ${progress.total} checked steps done`;
    renderToc();
    renderChecks();
  } catch {
    // The next refresh tries again.
  }
}

async function main() {
  if (!slug) {
    renderLessonList($("lesson-text"));
    document.body.classList.add("lesson-index");
    $("lesson-title").textContent = "Lessons";
    return;
  }
  try {
    lesson = await getJson(`/api/lessons/${encodeURIComponent(slug)}`);
  } catch (err) {
    $("lesson-title").textContent = "Lesson not found";
    $("lesson-text").textContent = `${err.message} See the list of lessons.`;
    return;
  }
  document.title = `${lesson.title} — realtime-playground`;
  $("lesson-count").textContent = `Lesson ${lesson.order} of ${lesson.count ?? lesson.order}`;
  $("lesson-title").textContent = lesson.title;
  $("lesson-meta").textContent = `${lesson.minutes} min · ${lesson.summary}`;
  if (lesson.swagger) $("swagger-link").href = lesson.swagger;
  mountTrafficPanel($("side-traffic"), { transport: "", compact: true });
  const start = Math.max(0, lesson.steps.findIndex((s) => `#${s.id}` === location.hash));
  player = new Player({
    narration: $("narration"),
    speak: $("speak"),
    buttons: { play: $("play"), pause: $("play-pause"), next: $("play-next") },
    widget: () => widget,
    lessonSlug: slug,
    onFinished: () => refreshProgress(),
  });
  $("play").addEventListener("click", () => showMe());
  $("reset").addEventListener("click", async () => {
    progress = await sendJson("POST", `/api/lessons/${slug}/reset`);
    await showStep(stepIndex);
    renderToc();
    renderChecks();
  });
  $("prev-step").addEventListener("click", () => {
    if (stepIndex > 0) showStep(stepIndex - 1, { focus: true });
    else if (lesson.previous) location.href = `/lessons/${lesson.previous}`;
  });
  $("next-step").addEventListener("click", () => {
    if (stepIndex < lesson.steps.length - 1) showStep(stepIndex + 1, { focus: true });
    else location.href = lesson.next ? `/lessons/${lesson.next}` : "/lessons/";
  });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select, [contenteditable]") || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === "ArrowRight") $("next-step").click();
    else if (e.key === "ArrowLeft") $("prev-step").click();
    else if (e.key === "p" && !$("play").disabled) $("play").click();
    else if (e.key === "]" && lesson.next) location.href = `/lessons/${lesson.next}`;
    else if (e.key === "[" && lesson.previous) location.href = `/lessons/${lesson.previous}`;
  });
  await showStep(start);
  await refreshProgress();
  setInterval(refreshProgress, 1500);
}

main();
