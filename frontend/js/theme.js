// Light / dark / follow-the-system theme switch, remembered across visits.
// Its visible text ("Theme: dark") is its accessible name (WCAG 2.5.3); the
// button's title says what pressing it does.

const ORDER = ["auto", "light", "dark"];
const KEY = "rp-theme";

export function initTheme(button) {
  let current = localStorage.getItem(KEY) ?? "auto";
  const apply = () => {
    if (current === "auto") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = current;
    button.textContent = `Theme: ${current}`;
  };
  button.addEventListener("click", () => {
    current = ORDER[(ORDER.indexOf(current) + 1) % ORDER.length];
    localStorage.setItem(KEY, current);
    apply();
  });
  apply();
}
