// axe-core in the real pages, for the accessibility tests. The pages' CSP
// allows no inline script, so axe is not added as a <script>: it is
// evaluated through the DevTools protocol, which CSP does not govern. The
// page keeps its real CSP while it is audited (no bypassCSP), so a fix that
// needed an inline script or style would still show up as a CSP error.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core"), "utf8");

/** WCAG 2.0, 2.1 and 2.2, levels A and AA: the UI's stated bar. */
export const WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/**
 * Runs axe on the whole document as it is now; resolves with one record per
 * failing element: { where, rule, impact, target, summary }.
 */
export async function audit(page, where) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.evaluate(AXE_SOURCE);
  }
  const violations = await page.evaluate(async (tags) => {
    // Colours half-way through a transition are neither the old nor the new ones.
    const settling = document.getAnimations().filter((a) => a.effect?.getComputedTiming().endTime !== Infinity);
    await Promise.all(settling.map((a) => a.finished.catch(() => {})));
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return result.violations;
  }, WCAG_AA);
  return violations.flatMap((v) => v.nodes.map((n) => ({
    where,
    rule: v.id,
    impact: n.impact ?? v.impact,
    target: n.target.flat().join(" "),
    summary: `${v.help}. ${(n.failureSummary ?? "").replace(/\s+/g, " ").trim()}`,
  })));
}

/** One entry per rule and failure, with the elements and pages it was found on. */
export function describe(found, shown = 6) {
  const groups = new Map();
  for (const v of found) {
    const key = `${v.rule}|${v.impact}|${v.summary}`;
    const g = groups.get(key) ?? { ...v, targets: new Set(), pages: new Set() };
    g.targets.add(v.target);
    g.pages.add(v.where);
    groups.set(key, g);
  }
  const list = (set) => {
    const all = [...set];
    return all.slice(0, shown).join("; ") + (all.length > shown ? `; and ${all.length - shown} more` : "");
  };
  return [...groups.values()].map((g) =>
    `- ${g.rule} (${g.impact}): ${g.summary}\n    elements: ${list(g.targets)}\n    on: ${list(g.pages)}`).join("\n");
}
