// Swagger UI (third-party, at /docs) has three markup defects CSS cannot
// reach; this fixes them as Swagger renders, without changing what it does:
// - its copy-to-clipboard buttons have no name: they get one;
// - each operation's toggle button holds a deep link (a control inside a
//   control, and a 13 px tall target). The link only repeats the button —
//   its click is cancelled and expanding the operation sets the same URL —
//   so it loses its href and becomes plain text inside the button;
// - code boxes that scroll sideways cannot be reached by keyboard: they
//   become focusable.

function repair(root) {
  for (const button of root.querySelectorAll(".copy-to-clipboard > button:not([aria-label])")) {
    button.setAttribute("aria-label", "Copy to clipboard");
  }
  for (const link of root.querySelectorAll(".opblock-summary-control a[href]")) {
    link.removeAttribute("href");
  }
  for (const pre of root.querySelectorAll("pre.microlight:not([tabindex])")) {
    pre.setAttribute("tabindex", "0");
  }
}

const ui = document.getElementById("ui") ?? document.body;
repair(ui);
new MutationObserver(() => repair(ui)).observe(ui, { childList: true, subtree: true });
