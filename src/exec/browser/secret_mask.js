// Hides secrets on the page before a screenshot; "unmask" puts the page back right after.
// arguments[0]: "mask" or "unmask"; arguments[1]: the run's secrets (mask only).
// Form fields whose value holds a secret get a black box with transparent text (inline style;
// the previous style attribute is kept, as JSON, in data-flows-masked and put back); page text showing a
// secret is covered with a CSS Custom Highlight (no node is added). Everything needed to undo it
// lives in the document, not in script variables: each call may run in its own script realm.
// Returns how many things were masked (or unmasked).
const op = arguments[0];
const MARK = 'data-flows-masked';
const HIGHLIGHT = 'flows-secret';
const isOurSheet = (s) => {
  try {
    return s.cssRules.length > 0 && s.cssRules[0].cssText.includes(HIGHLIGHT);
  } catch (e) {
    return false;
  }
};
if (op === 'unmask') {
  let n = 0;
  for (const el of document.querySelectorAll('[' + MARK + ']')) {
    let style = null;
    try {
      style = JSON.parse(el.getAttribute(MARK));
    } catch (e) {
      style = null;
    }
    el.removeAttribute(MARK);
    // Chrome writes CSSOM changes back to the style attribute lazily: reading it first makes
    // sure that write-back has happened before the attribute is removed, not after.
    void el.getAttribute('style');
    el.style.cssText = typeof style === 'string' ? style : '';
    if (typeof style !== 'string') el.removeAttribute('style');
    else el.setAttribute('style', style);
    n += 1;
  }
  if (window.CSS && CSS.highlights && CSS.highlights.has(HIGHLIGHT)) {
    CSS.highlights.delete(HIGHLIGHT);
    n += 1;
  }
  if (document.adoptedStyleSheets.some(isOurSheet)) {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => !isOurSheet(s));
  }
  return n;
}
const secrets = (arguments[1] || []).filter((s) => typeof s === 'string' && s.length > 0);
if (!secrets.length) return 0;
const holds = (v) => typeof v === 'string' && v !== '' && secrets.some((s) => v.includes(s));
let masked = 0;
for (const el of document.querySelectorAll('input, textarea, [contenteditable]')) {
  const value = el.isContentEditable ? el.textContent : el.value;
  if (el.type === 'password' || el.hasAttribute(MARK) || !holds(value)) continue;
  el.setAttribute(MARK, JSON.stringify(el.getAttribute('style')));
  for (const [p, v] of [
    ['color', 'transparent'],
    ['-webkit-text-fill-color', 'transparent'],
    ['text-shadow', 'none'],
    ['caret-color', 'transparent'],
    ['background', '#000'],
  ]) el.style.setProperty(p, v, 'important');
  masked += 1;
}
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
      }
    }
  }
  if (highlight.size > 0) {
    CSS.highlights.set(HIGHLIGHT, highlight);
    if (!document.adoptedStyleSheets.some(isOurSheet)) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync('::highlight(' + HIGHLIGHT + ') { color: transparent; background-color: #000; }');
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }
    masked += highlight.size;
  }
}
return masked;
