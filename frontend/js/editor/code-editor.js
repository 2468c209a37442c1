// The code editor: CodeMirror 6 (vendored in frontend/vendor/codemirror,
// built by scripts/codemirror/build.sh) with what editing a small client
// needs — JavaScript highlighting, line numbers, auto-indent, undo — and
// keyboard rules that never trap focus: Tab indents inside the editor, Esc
// leaves it (focus moves to the next control), Ctrl/⌘+Enter runs the code.
// Colours come from style.css (.tok-* classes), so both themes apply. The
// editor grows with its text (lines wrap) rather than scrolling inside the
// page: a scrolling box would need a tab stop of its own.

import {
  EditorState, EditorView, HighlightStyle, bracketMatching, defaultKeymap, drawSelection,
  highlightSpecialChars, history, historyKeymap,
  indentOnInput, indentUnit, indentWithTab, javascript, keymap, lineNumbers, syntaxHighlighting, tags, undo,
} from "../../vendor/codemirror/codemirror.js";

const highlight = HighlightStyle.define([
  { tag: [tags.keyword, tags.controlKeyword, tags.moduleKeyword, tags.operatorKeyword], class: "tok-keyword" },
  { tag: [tags.string, tags.special(tags.string), tags.regexp], class: "tok-string" },
  { tag: [tags.lineComment, tags.blockComment], class: "tok-comment" },
  { tag: [tags.number, tags.bool, tags.null], class: "tok-number" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], class: "tok-function" },
  { tag: [tags.definition(tags.variableName), tags.definition(tags.propertyName)], class: "tok-definition" },
]);

/**
 * An editor in `parent` holding `doc`. `label` names it for assistive
 * technology; `describedBy` is the id of the keyboard help.
 */
export function createEditor(parent, { doc, label, describedBy, onEscape = () => {}, onRun = () => {} }) {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        // No active-line highlight: under it, comments fall below AA contrast.
        lineNumbers(), highlightSpecialChars(), history(), drawSelection(),
        indentOnInput(), bracketMatching(), indentUnit.of("  "),
        javascript(), syntaxHighlighting(highlight),
        keymap.of([
          { key: "Escape", run: () => { onEscape(); return true; } },
          { key: "Mod-Enter", run: () => { onRun(); return true; } },
          ...defaultKeymap, ...historyKeymap, indentWithTab,
        ]),
        EditorView.contentAttributes.of({ "aria-label": label, "aria-describedby": describedBy, "aria-multiline": "true" }),
        EditorView.lineWrapping,
      ],
    }),
  });
  return {
    view,
    get text() { return view.state.doc.toString(); },
    set text(value) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
    },
    undo: () => undo(view),
    focus: () => view.focus(),
  };
}
