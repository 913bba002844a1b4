// Hides secrets on the page before a screenshot; restored by the "unmask" half right after.
// arguments[0]: "mask" or "unmask"; arguments[1]: the run's secrets (mask only).
// Form fields whose value holds a secret get a black box with transparent text (inline style,
// the previous style attribute kept and put back); page text showing a secret is covered with
// a CSS Custom Highlight (no DOM node is touched). Returns how many things were masked.
const op = arguments[0];
const KEY = '__flowsSecretMask';
if (op === 'unmask') {
  const state = window[KEY];
  if (!state) return 0;
  for (const [el, style] of state.fields) {
    if (style === null) el.removeAttribute('style');
    else el.setAttribute('style', style);
  }
  if (state.sheet) {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== state.sheet);
  }
  if (window.CSS && CSS.highlights) CSS.highlights.delete('flows-secret');
  delete window[KEY];
  return state.fields.length + state.ranges;
}
const secrets = (arguments[1] || []).filter((s) => typeof s === 'string' && s.length > 0);
if (!secrets.length) return 0;
const holds = (v) => typeof v === 'string' && v !== '' && secrets.some((s) => v.includes(s));
const fields = [];
const fieldSelector = 'input, textarea, [contenteditable]';
const visit = (root) => {
  for (const el of root.querySelectorAll(fieldSelector)) {
    const value = el.isContentEditable ? el.textContent : el.value;
    if (el.type === 'password' || !holds(value)) continue;
    fields.push([el, el.getAttribute('style')]);
    for (const [p, v] of [
      ['color', 'transparent'],
      ['-webkit-text-fill-color', 'transparent'],
      ['text-shadow', 'none'],
      ['caret-color', 'transparent'],
      ['background', '#000'],
    ]) el.style.setProperty(p, v, 'important');
  }
};
visit(document);
let ranges = 0;
let sheet = null;
if (window.CSS && CSS.highlights && window.Highlight && document.body) {
  const highlight = new Highlight();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue;
    if (!holds(text)) continue;
    for (const s of secrets) {
      for (let at = text.indexOf(s); at >= 0; at = text.indexOf(s, at + s.length)) {
        const r = new Range();
        r.setStart(node, at);
        r.setEnd(node, at + s.length);
        highlight.add(r);
        ranges += 1;
      }
    }
  }
  if (ranges) {
    CSS.highlights.set('flows-secret', highlight);
    sheet = new CSSStyleSheet();
    sheet.replaceSync('::highlight(flows-secret) { color: transparent; background-color: #000; }');
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }
}
if (fields.length || ranges) window[KEY] = { fields, ranges, sheet };
return fields.length + ranges;
