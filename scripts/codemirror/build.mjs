// esbuild, with one patch: style-mod (CodeMirror's style injector) puts its
// rules in a <style> element unless it is mounting into a shadow root, and
// this server's Content-Security-Policy (style-src 'self') blocks inline
// <style>. Constructable stylesheets (document.adoptedStyleSheets) are not
// inline styles, so the patch makes style-mod use them for documents too.
import { readFile } from "node:fs/promises";
import { build } from "esbuild";

const ADOPT_ONLY_IN_SHADOW = "if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {";
const ADOPT_EVERYWHERE = "if (root.adoptedStyleSheets && win.CSSStyleSheet) {";

const adoptStyles = {
  name: "style-mod-adopted-stylesheets",
  setup(b) {
    b.onLoad({ filter: /style-mod[\\/]src[\\/]style-mod\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      if (!source.includes(ADOPT_ONLY_IN_SHADOW)) throw new Error("style-mod changed: review the patch in build.mjs");
      return { contents: source.replace(ADOPT_ONLY_IN_SHADOW, ADOPT_EVERYWHERE), loader: "js" };
    });
  },
};

await build({
  entryPoints: ["entry.js"],
  bundle: true,
  format: "esm",
  minify: true,
  legalComments: "none",
  target: "es2022",
  outfile: process.argv[2],
  plugins: [adoptStyles],
});
