// `flows record`, the in-page half. Runs as a BiDi preload script in every new document, and
// once (callFunction) in the page already open. `send` is a BiDi channel (script.message);
// `flowsPage` is the runner's own locate script (exec/browser/page.js), so every locator
// offered is one the runner resolves, to this very element, with its own role/name rules.
//
// Messages (JSON strings): {type: "load", url, by_action} when a document starts;
// {type: "click"|"fill"|"select"|"check"|"upload"|"press"|"expect", candidates, ...} for an
// act. A secret field's value is never sent: {secret: true, hint} instead.
"use strict";
if (window.__flowsRecorder || window !== window.top) return;
window.__flowsRecorder = true;
const NAV_MARK = "__flowsRecordAct";
// How long after a click or submit a new document counts as its effect (not a typed URL).
const NAV_WINDOW_MS = 10000;

function page(req) {
  let out = {};
  flowsPage(Object.assign({ slice_ms: 0 }, req), (v) => { out = v; });
  return out;
}
function norm(s) { return (s || "").replace(/[\uE000-\uF8FF]/g, "").replace(/\s+/g, " ").trim(); }
function post(msg) { try { send(JSON.stringify(msg)); } catch (e) { /* the channel is gone */ } }
function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&"); }
// Text with digits (ids, counts, dates) differs on replay: a regex with \d+ for each number.
function pattern(text) {
  if (/\d/.test(text)) return { kind: "regex", source: "^" + escapeRe(text).replace(/\d+/g, "\\d+") + "$", flags: "" };
  return { kind: "contains", value: text };
}
function cssPath(el) {
  if (el.id && document.querySelectorAll("#" + CSS.escape(el.id)).length === 1) return "#" + CSS.escape(el.id);
  const parts = [];
  for (let e = el; e && e.nodeType === 1 && e !== document.documentElement; e = e.parentElement) {
    if (e.id && document.querySelectorAll("#" + CSS.escape(e.id)).length === 1) { parts.unshift("#" + CSS.escape(e.id)); break; }
    let i = 1;
    for (let s = e.previousElementSibling; s; s = s.previousElementSibling) if (s.localName === e.localName) i++;
    parts.unshift(e.localName + ":nth-of-type(" + i + ")");
  }
  return parts.join(" > ");
}
// Every locator that could name `el`, each with whether the runner resolves it to `el` alone.
// The recorder (Rust) picks among them in its documented order.
function candidates(el) {
  const n = page({ op: "naming", element: el });
  const locs = [];
  if (n.role && n.name && n.name.length <= 80) {
    locs.push({ role: n.role, name: pattern(n.name) });
    if (!/\d/.test(n.name)) locs.push({ role: n.role, name: { kind: "exact", value: n.name } });
  }
  if (n.control) {
    for (const l of n.labels || []) if (l.length <= 80) locs.push({ label: pattern(l) });
    if (n.name && n.name.length <= 80 && !(n.labels || []).includes(n.name)) locs.push({ label: pattern(n.name) });
  }
  const ph = norm(el.getAttribute("placeholder"));
  if (ph) locs.push({ placeholder: pattern(ph) });
  const text = norm(el.innerText || el.textContent);
  if (!n.control && text && text.length <= 60) {
    locs.push({ text: pattern(text) });
    if (!/\d/.test(text)) locs.push({ text: { kind: "exact", value: text } });
  }
  const tid = el.getAttribute("data-testid");
  if (tid) locs.push({ test_id: tid });
  locs.push({ css: cssPath(el) });
  return locs.map((loc) => {
    const r = page({ op: "resolves", locator: loc, element: el });
    return { locator: loc, unique: !!(r.ok && r.same) };
  });
}
const ACTIONABLE = "a[href],button,input,select,textarea,summary,label,[role=button],[role=link],[role=tab],[role=menuitem],[role=option],[role=checkbox],[role=radio],[role=switch],[contenteditable=true]";
const ASSERTABLE = ACTIONABLE + ",h1,h2,h3,h4,h5,h6,[data-testid]";
function isTextField(el) {
  if (el.localName === "textarea") return true;
  if (el.localName !== "input") return false;
  return !["checkbox", "radio", "file", "submit", "button", "reset", "image", "range", "color", "hidden"].includes(el.type);
}
function isSecretField(el) {
  const ac = (el.getAttribute("autocomplete") || "").toLowerCase();
  const words = (el.name || "") + " " + (el.id || "");
  return el.type === "password" || /one-time-code|current-password|new-password/.test(ac)
    || /otp|code|token|secret|passw|pin\b/i.test(words);
}
function secretHint(el) {
  const n = page({ op: "naming", element: el });
  return (n.labels && n.labels[0]) || n.name || el.name || el.id || "secret";
}
function markAct() { try { sessionStorage.setItem(NAV_MARK, String(Date.now())); } catch (e) { /* no storage */ } }

// ---- assert mode ------------------------------------------------------------------------------
let asserting = false;
let badge = null;
function setAsserting(on) {
  asserting = on;
  if (on && !badge) {
    badge = document.createElement("flows-record-badge");
    // A closed shadow root: the runner's locators (which pierce open ones) never see its text.
    const root = badge.attachShadow({ mode: "closed" });
    root.innerHTML = '<div style="position:fixed;top:8px;right:8px;z-index:2147483647;pointer-events:none;'
      + 'background:#b00020;color:#fff;font:bold 13px sans-serif;padding:6px 10px;border-radius:4px">'
      + "flows record: assert mode (click an element to assert it; Alt+Shift+A leaves)</div>";
    document.documentElement.appendChild(badge);
  } else if (!on && badge) {
    badge.remove();
    badge = null;
  }
  post({ type: "assert_mode", on });
}
window.addEventListener("keydown", (e) => {
  if (e.altKey && e.shiftKey && !e.ctrlKey && !e.metaKey && (e.code === "KeyA" || (e.key || "").toLowerCase() === "a")) {
    e.preventDefault();
    e.stopImmediatePropagation();
    setAsserting(!asserting);
    return;
  }
  const el = e.target;
  if (e.isTrusted && e.key === "Enter" && el && el.localName === "input" && isTextField(el)) {
    // Enter submits: the value first (change fires after this), then the key.
    recordFill(el);
    post({ type: "press", key: "Enter", candidates: candidates(el) });
    markAct();
  }
}, true);
for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup"]) {
  window.addEventListener(type, (e) => {
    if (asserting) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
}
window.addEventListener("click", (e) => {
  const hit = e.target instanceof Element ? e.target : null;
  if (!hit) return;
  if (asserting) {
    // Swallowed: the app never sees it; the element becomes an `expect`.
    e.preventDefault();
    e.stopImmediatePropagation();
    const el = hit.closest(ASSERTABLE) || hit;
    const text = norm(el.innerText || el.textContent);
    post({ type: "expect", candidates: candidates(el), text: text.length && text.length <= 80 ? text : null, text_pattern: text ? pattern(text) : null });
    setAsserting(false);
    return;
  }
  if (!e.isTrusted) return;
  const el = hit.closest(ACTIONABLE) || hit;
  // Focusing a field and ticking a box are recorded by what they change (fill, check).
  const control = el.localName === "label" ? el.control : el;
  if (control && (isTextField(control) || ["select", "option"].includes(control.localName)
    || (control.localName === "input" && ["checkbox", "radio", "file"].includes(control.type)))) return;
  post({ type: "click", candidates: candidates(el) });
  markAct();
}, true);
window.addEventListener("submit", () => markAct(), true);

// ---- values -----------------------------------------------------------------------------------
const sent = new WeakMap();
function recordFill(el) {
  const value = el.isContentEditable ? el.innerText : el.value;
  if (sent.get(el) === value) return;
  sent.set(el, value);
  if (isSecretField(el)) post({ type: "fill", candidates: candidates(el), secret: true, hint: secretHint(el) });
  else post({ type: "fill", candidates: candidates(el), value: value });
}
document.addEventListener("change", (e) => {
  const el = e.target;
  if (!(el instanceof Element) || !e.isTrusted) return;
  if (el.localName === "select") {
    const opt = el.selectedOptions && el.selectedOptions[0];
    if (opt) post({ type: "select", candidates: candidates(el), option: norm(opt.label || opt.textContent) || opt.value });
  } else if (el.localName === "input" && (el.type === "checkbox" || el.type === "radio")) {
    post({ type: "check", candidates: candidates(el), checked: el.checked });
  } else if (el.localName === "input" && el.type === "file") {
    post({ type: "upload", candidates: candidates(el), files: Array.from(el.files || []).map((f) => f.name) });
  } else if (isTextField(el) || el.isContentEditable) {
    recordFill(el);
  }
}, true);

// ---- navigation -------------------------------------------------------------------------------
if (!alreadyOpen) {
  let byAction = false;
  try {
    const at = Number(sessionStorage.getItem(NAV_MARK) || 0);
    byAction = at > 0 && Date.now() - at < NAV_WINDOW_MS;
    sessionStorage.removeItem(NAV_MARK);
  } catch (e) { /* no storage: a typed navigation */ }
  post({ type: "load", url: location.href, by_action: byAction });
}
