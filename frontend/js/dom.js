// One tiny DOM builder for every view: el("li", { class, text, onclick }, ...children).
// Text always goes in as text (textContent), never as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// A page's buttons come disabled (`data-needs-script`) until its module has
// bound them: an early click would otherwise do nothing, or submit the form
// as a plain GET and reload the page.
export function armControls(root = document) {
  for (const control of root.querySelectorAll("[data-needs-script]")) {
    control.disabled = false;
    control.removeAttribute("data-needs-script");
  }
}
