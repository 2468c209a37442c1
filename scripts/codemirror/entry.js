// The parts of CodeMirror 6 that frontend/js/editor/code-editor.js uses.
export { EditorState, Compartment } from "@codemirror/state";
export { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection, highlightSpecialChars } from "@codemirror/view";
export { history, defaultKeymap, historyKeymap, indentWithTab, undo, redo } from "@codemirror/commands";
export { javascript } from "@codemirror/lang-javascript";
export { syntaxHighlighting, HighlightStyle, indentOnInput, bracketMatching, indentUnit } from "@codemirror/language";
export { tags } from "@lezer/highlight";
