// In-page half of the runner: locate an element and check that it is actionable, or evaluate an
// assertion, waiting inside the page (animation frames + DOM mutations) so that one WebDriver
// round trip covers a whole wait slice. Called through Execute Async Script with
// (request, done). Returns {ok:true, ...} or {ok:false, reason, found}.
//
// request = { op, locator, slice_ms, ... }
//   op: "act"     -> element ready for an action (attached, unique, visible, enabled, stable,
//                    receives events); scrolls it into view; returns {element, x, y}
//   op: "expect"  -> evaluate request.assert against the locator / page
//   op: "wait"    -> element state (visible|hidden|attached|detached)
//   op: "text"    -> unique element's text (capture)
//   op: "fill"    -> act, then focus and select the content (value typed by the caller)
//   op: "select"  -> act, then choose request.option and fire input/change
//   op: "setvalue"-> act, then set value via the native setter and fire input/change
//   op: "hover"   -> as act, but a disabled element may be hovered
//   op: "names"   -> every visible element with a role (all: true -> every visible element):
//                    {element, role, name} (conformance tests)
//   op: "frame"   -> the <iframe> to switch into: {element, dx, dy} (its viewport's offset)
//   act + request.target -> a drag: also {tx, ty}, the centre of the drop target
//   request.arm   -> arm the hit-target check for the act that follows: {hit: token}
//   op: "naming"  -> role, accessible name and labels of request.element (an element, not a
//                    reference: `flows record` calls this script inside the page)
//   op: "resolves"-> whether the locator resolves to request.element ({same}) (`flows record`)
//   op: "verify"  -> the hit-target verdict on request.token; with request.then (the next
//                    step's first request), that request's answer too: {hit, ..., then}
(function (request, done) {
  "use strict";
  const PUA = /[\uE000-\uF8FF]|[\uDB80-\uDBFF][\uDC00-\uDFFF]/g;
  // Whitespace collapsed and trimmed, as the browser computes a name (glyphs kept).
  function collapse(s) { return (s || "").replace(/\s+/g, " ").trim(); }
  // The lenient form: private-use (icon-font) glyphs dropped as well.
  function norm(s) { return collapse((s || "").replace(PUA, "")); }
  function matcher(p) {
    if (!p) return () => true;
    if (p.kind === "regex") { const re = new RegExp(p.source, p.flags.replace("g", "")); return (s) => re.test(norm(s)); }
    // `exact: true` compares the text as the browser computes it, glyphs included.
    if (p.kind === "exact") { const v = collapse(p.value); return (s) => collapse(s) === v; }
    const v = norm(p.value).toLowerCase();
    return (s) => norm(s).toLowerCase().includes(v);
  }
  // A form value compared as it is (no trimming, no case folding): `equals`, or a regex.
  function valueMatcher(p) {
    if (p.kind === "regex") { const re = new RegExp(p.source, p.flags.replace("g", "")); return (v) => re.test(String(v)); }
    return (v) => String(v) === p.value;
  }
  function describePattern(p) {
    if (!p) return "";
    if (p.kind === "equals") return "=" + JSON.stringify(p.value);
    if (p.kind === "regex") return "/" + p.source + "/" + p.flags;
    if (p.kind === "exact") return '="' + p.value + '"';
    return '~"' + p.value.toLowerCase() + '"';
  }

  // Why `exact: true` found nothing although a name matches once its icon-font glyphs are
  // dropped: the browser's name keeps them.
  function glyphHints(loc) {
    const want = norm(loc.name.value);
    const out = [];
    for (const el of allElements(document)) {
      if (role(el) !== loc.role) continue;
      const n = accName(el);
      if (norm(n) !== want || collapse(n) === collapse(loc.name.value)) continue;
      const shown = n.replace(PUA, (g) => "U+" + g.codePointAt(0).toString(16).toUpperCase());
      out.push(describe(el) + ' is named "' + shown + '" by the browser: the name has a private-use (icon-font) glyph, which exact: true keeps; leave out exact, or match with /…/');
      if (out.length >= 3) break;
    }
    return out;
  }

  // ---- roles ------------------------------------------------------------------------------
  function implicitRole(el) {
    const tag = el.localName;
    const type = (el.getAttribute("type") || "").toLowerCase();
    switch (tag) {
      case "a": case "area": return el.hasAttribute("href") ? "link" : null;
      case "button": return "button";
      case "input":
        if (type === "hidden") return null;
        if (["button", "submit", "reset", "image"].includes(type)) return "button";
        if (type === "checkbox") return "checkbox";
        if (type === "radio") return "radio";
        if (type === "range") return "slider";
        if (type === "number") return "spinbutton";
        if (type === "search") return el.hasAttribute("list") ? "combobox" : "searchbox";
        if (["email", "tel", "text", "url", ""].includes(type)) return el.hasAttribute("list") ? "combobox" : "textbox";
        // Chromium exposes a file input as a button (its "Choose file" part).
        if (type === "file") return "button";
        return "textbox";
      case "textarea": return "textbox";
      case "select": return (el.multiple || el.size > 1) ? "listbox" : "combobox";
      case "option": return "option";
      case "h1": case "h2": case "h3": case "h4": case "h5": case "h6": return "heading";
      case "img": return el.getAttribute("alt") === "" ? "presentation" : "img";
      case "nav": return "navigation";
      case "main": return "main";
      case "aside": return "complementary";
      // Inside a sectioning element they are not landmarks: Chromium 156 gives them the
      // WAI-ARIA 1.3 roles sectionheader / sectionfooter.
      case "header": return el.closest("article,aside,main,nav,section") ? "sectionheader" : "banner";
      case "footer": return el.closest("article,aside,main,nav,section") ? "sectionfooter" : "contentinfo";
      // WAI-ARIA 1.3 text-level roles, as Chromium computes them.
      case "strong": return "strong";
      case "em": return "emphasis";
      case "code": return "code";
      case "del": return "deletion";
      case "ins": return "insertion";
      case "sub": return "subscript";
      case "sup": return "superscript";
      // Chromium gives every <form> the form role, named or not (WAI-ARIA says named only);
      // the runner follows the browser. A section is a region when named: checking for a name
      // source (not computing the name) avoids recursion.
      case "form": return "form";
      case "section": return hasNameAttr(el) ? "region" : null;
      case "p": return "paragraph";
      case "article": return "article";
      case "ul": case "ol": case "menu": return "list";
      case "li": return "listitem";
      case "table": return "table";
      // Chromium leaves <tbody> out of the accessibility tree (its rows belong to the table).
      case "thead": case "tfoot": return "rowgroup";
      case "tr": return "row";
      case "td": return "cell";
      case "th": return el.getAttribute("scope") === "row" ? "rowheader" : "columnheader";
      case "caption": return "caption";
      case "dialog": return "dialog";
      case "fieldset": return "group";
      case "details": return "group";
      // summary and dl have no ARIA role (Chromium: DisclosureTriangle, DescriptionList).
      case "progress": return "progressbar";
      case "output": return "status";
      case "hr": return "separator";
      case "dt": return "term";
      case "dd": return "definition";
      default: return null;
    }
  }
  function hasNameAttr(el) {
    return !!(norm(el.getAttribute("aria-label")) || el.getAttribute("aria-labelledby") || norm(el.getAttribute("title")));
  }
  function role(el) {
    const explicit = (el.getAttribute("role") || "").trim().split(/\s+/)[0];
    return explicit || implicitRole(el);
  }
  // WAI-ARIA 1.2 "name from content" roles as Chromium applies them: `term` too, and not `row`
  // (Chromium gives a table row no name) nor a list item.
  const NAME_FROM_CONTENT = new Set(["button", "cell", "checkbox", "columnheader", "gridcell", "heading", "link",
    "menuitem", "menuitemcheckbox", "menuitemradio", "option", "radio", "rowheader", "switch", "tab",
    "tooltip", "treeitem", "term"]);

  // ---- accessible name (the parts of accname 1.2 real pages rely on) ---------------------------
  function isHiddenForName(el) {
    if (el.nodeType !== 1) return false;
    if (el.hidden || el.getAttribute("aria-hidden") === "true") return true;
    const cs = getComputedStyle(el);
    return cs.display === "none" || cs.visibility === "hidden";
  }
  // `referenced`: reached through aria-labelledby, whose targets count even when hidden.
  function textAlternative(node, visited, fromContent, referenced) {
    if (node.nodeType === 3) return node.textContent;
    if (node.nodeType !== 1 || visited.has(node)) return "";
    visited.add(node);
    const el = node;
    if (!referenced && isHiddenForName(el)) return "";
    const label = el.getAttribute("aria-label");
    if (label && label.trim()) return label;
    const tag = el.localName;
    if (tag === "img" || (tag === "input" && el.type === "image")) return el.getAttribute("alt") || el.getAttribute("title") || "";
    if (fromContent) {
      if (tag === "input" || tag === "textarea") return el.value || "";
      if (tag === "select") { const o = el.selectedOptions[0]; return o ? o.textContent : ""; }
    }
    let text = "";
    const pseudoBefore = getComputedStyle(el, "::before").content;
    if (pseudoBefore && pseudoBefore !== "none" && pseudoBefore !== "normal") text += pseudoBefore.replace(/^"|"$/g, "");
    const kids = el.shadowRoot ? el.shadowRoot.childNodes : el.childNodes;
    for (const child of kids) {
      if (child.localName === "slot") { for (const a of child.assignedNodes()) text += textAlternative(a, visited, true, referenced); continue; }
      const part = textAlternative(child, visited, true, referenced);
      const block = child.nodeType === 1 && getComputedStyle(child).display !== "inline";
      text += block ? " " + part + " " : part;
    }
    if (!norm(text) && el.getAttribute("title")) text = el.getAttribute("title");
    return text;
  }
  function labelsOf(el) {
    const out = [];
    if (el.labels) for (const l of el.labels) out.push(l);
    return out;
  }
  function accName(el) {
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const root = el.getRootNode();
      const parts = by.split(/\s+/).map((id) => (root.getElementById ? root : el.ownerDocument).getElementById(id)).filter(Boolean)
        .map((n) => textAlternative(n, new Set([el]), true, isHiddenForName(n)));
      const joined = collapse(parts.join(" "));
      if (joined) return joined;
    }
    const label = el.getAttribute("aria-label");
    if (label && collapse(label)) return collapse(label);
    const tag = el.localName;
    if (["input", "textarea", "select", "meter", "progress", "output"].includes(tag)) {
      if (tag === "input" && ["button", "submit", "reset"].includes(el.type)) {
        return collapse(el.value || (el.type === "submit" ? "Submit" : el.type === "reset" ? "Reset" : ""));
      }
      if (tag === "input" && el.type === "image") return collapse(el.alt || el.title || "Submit");
      const ls = labelsOf(el).map((l) => textAlternative(l, new Set([el]), true));
      if (ls.length) return collapse(ls.join(" "));
      return collapse(el.getAttribute("title") || el.getAttribute("placeholder") || "");
    }
    if (tag === "img" || tag === "area") return collapse(el.getAttribute("alt") || el.getAttribute("title") || "");
    if (tag === "fieldset") { const lg = el.querySelector(":scope > legend"); if (lg) return collapse(textAlternative(lg, new Set(), true)); }
    if (tag === "table") { const c = el.querySelector(":scope > caption"); if (c) return collapse(textAlternative(c, new Set(), true)); }
    const r = role(el);
    if (r && NAME_FROM_CONTENT.has(r)) {
      const t = collapse(textAlternative(el, new Set(), true));
      if (t) return t;
    }
    return collapse(el.getAttribute("title") || "");
  }

  // ---- visibility & actionability -------------------------------------------------------------
  function isVisible(el) {
    if (!el.isConnected) return false;
    if (typeof el.checkVisibility === "function" && !el.checkVisibility({ checkOpacity: false, checkVisibilityCSS: true })) return false;
    const cs = getComputedStyle(el);
    if (cs.visibility !== "visible") return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  function isEnabled(el) {
    if (el.disabled) return false;
    if (el.closest("fieldset[disabled]") && !el.closest("legend")) return false;
    let n = el;
    while (n) { if (n.getAttribute && n.getAttribute("aria-disabled") === "true") return false; n = n.parentElement; }
    return true;
  }
  function describe(el) {
    if (!el || !el.localName) return "?";
    let s = "<" + el.localName;
    if (el.id) s += "#" + el.id;
    const cls = (el.getAttribute("class") || "").trim().split(/\s+/).filter(Boolean).slice(0, 2);
    if (cls.length) s += "." + cls.join(".");
    s += ">";
    const name = norm(accName(el)) || norm(el.textContent).slice(0, 40);
    if (name) s += ' "' + name.slice(0, 60) + '"';
    const region = el.parentElement && el.parentElement.closest("main,nav,header,footer,aside,dialog,form,section[aria-label],section[aria-labelledby]");
    if (region) s += " (in " + region.localName + (accName(region) ? ' "' + accName(region).slice(0, 30) + '"' : "") + ")";
    return s;
  }

  // ---- querying -------------------------------------------------------------------------------
  function allElements(root) {
    // Pierce open shadow roots, as user-facing locators should.
    const out = [];
    const walk = (r) => {
      for (const el of r.querySelectorAll("*")) {
        out.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(root);
    return out;
  }
  const CONTROL_ROLES = new Set(["textbox", "searchbox", "combobox", "listbox", "checkbox", "radio", "switch",
    "slider", "spinbutton", "option", "menuitemcheckbox", "menuitemradio"]);
  // `label:` finds form controls, as a person means by "the field labelled X".
  function isControl(el) {
    return ["input", "select", "textarea"].includes(el.localName) || el.isContentEditable || CONTROL_ROLES.has(role(el));
  }
  function byLabel(root, m) {
    const out = new Set();
    const problems = [];
    // Why an element was chosen, for its error if it cannot be used (keyed by element).
    const hints = new Map();
    for (const el of allElements(root)) {
      if (el.localName === "label") {
        if (!m(textAlternative(el, new Set(), true))) continue;
        const forId = el.getAttribute("for");
        if (forId) {
          // Follow the browser: the control is `label.control`, the FIRST element with that id
          // in the label's tree (if it is labelable), visible or not. Two elements sharing the
          // id is the app's bug; say so as the hint when that control cannot be used.
          const scope = el.getRootNode();
          const targets = (scope.querySelectorAll ? scope : el.ownerDocument).querySelectorAll("#" + CSS.escape(forId));
          const t = el.control;
          const what = 'label "' + norm(el.textContent) + '" points at id "' + forId + '"';
          if (targets.length > 1) {
            const shared = what + ", which " + targets.length + " elements share (" + Array.from(targets).map((x) => describe(x) + (isVisible(x) ? "" : " [hidden]")).join(", ") + "); the browser's label.control is the first of them";
            if (t) hints.set(t, shared); else problems.push(shared);
          }
          if (t) out.add(t);
          else if (!targets.length) problems.push(what + ", which no element has");
          else if (targets.length === 1) problems.push(what + ", but " + describe(targets[0]) + " is not a form control");
        } else if (el.control) out.add(el.control);
      } else if ((el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby")) && isControl(el) && m(accName(el))) {
        out.add(el);
      }
    }
    return { elements: Array.from(out), problems, hints };
  }
  function smallestWithText(root, m) {
    const hits = [];
    for (const el of allElements(root)) {
      if (["script", "style", "head", "title", "noscript", "template"].includes(el.localName)) continue;
      const t = el.innerText !== undefined ? el.innerText : el.textContent;
      if (!m(t)) continue;
      // Keep only the innermost: skip if a child element also matches.
      let childMatches = false;
      for (const c of el.children) { const ct = c.innerText !== undefined ? c.innerText : c.textContent; if (m(ct)) { childMatches = true; break; } }
      if (!childMatches) hits.push(el);
    }
    return hits;
  }
  // ---- locator filters and element states -------------------------------------------------------
  // An `<option>` of a closed `<select>` has no box of its own: it is shown when its select is.
  function isShown(el) {
    if ((el.localName === "option" || el.localName === "optgroup") && el.closest("select")) return isVisible(el.closest("select"));
    return isVisible(el);
  }
  function textOf(el) { return el.innerText !== undefined ? el.innerText : el.textContent; }
  // The element's own text: its text without that of nested elements of the same role (or, for
  // elements without a role, the same tag): a list item without its sub-items.
  function ownText(el) {
    const kind = role(el) || el.localName;
    let out = "";
    const walk = (n) => {
      for (const c of n.childNodes) {
        if (c.nodeType === 3) { out += c.textContent; continue; }
        if (c.nodeType !== 1 || ["script", "style", "template", "noscript"].includes(c.localName)) continue;
        if ((role(c) || c.localName) === kind) continue;
        const cs = getComputedStyle(c);
        if (c.hidden || cs.display === "none" || cs.visibility === "hidden") continue;
        const block = cs.display !== "inline";
        if (block) out += " ";
        walk(c);
        if (block) out += " ";
      }
    };
    walk(el);
    return out;
  }
  // `has:` / `has_not:`: a match of `inner` inside `el` (role matches must be shown, as role
  // queries ignore what is not in the accessibility tree).
  function hasInside(el, inner) {
    const found = query(inner, el).found;
    return inner.role ? found.some(isShown) : found.length > 0;
  }
  const CHECKABLE_ROLES = ["checkbox", "radio", "switch", "menuitemcheckbox", "menuitemradio", "treeitem"];
  const SELECTABLE_ROLES = ["option", "tab", "row", "gridcell", "treeitem", "columnheader", "rowheader"];
  // Each state: true, false, "mixed", or null when the element has no such state.
  function checkedState(el) {
    if (el.localName === "input" && (el.type === "checkbox" || el.type === "radio")) return el.indeterminate ? "mixed" : el.checked;
    if (!CHECKABLE_ROLES.includes(role(el))) return null;
    const a = el.getAttribute("aria-checked");
    return a === "mixed" ? "mixed" : a === "true";
  }
  function selectedState(el) {
    if (el.localName === "option") return el.selected;
    if (!SELECTABLE_ROLES.includes(role(el))) return null;
    return el.getAttribute("aria-selected") === "true";
  }
  function ariaTriState(el, attr) {
    const a = el.getAttribute(attr);
    return a === "true" ? true : a === "false" ? false : a === "mixed" ? "mixed" : null;
  }
  function expandedState(el) {
    const a = ariaTriState(el, "aria-expanded");
    if (a !== null) return a;
    if (el.localName === "details") return el.open;
    if (el.localName === "summary" && el.parentElement && el.parentElement.localName === "details") return el.parentElement.open;
    return null;
  }
  function levelOf(el) {
    const r = role(el);
    const a = parseInt(el.getAttribute("aria-level") || "", 10);
    if (a > 0 && ["heading", "treeitem", "listitem", "row"].includes(r)) return a;
    const h = /^h([1-6])$/.exec(el.localName);
    if (h && r === "heading") return parseInt(h[1], 10);
    return r === "heading" ? 2 : null; // ARIA: a heading without aria-level is level 2
  }
  function isTextField(el) {
    if (el.localName === "textarea" || el.isContentEditable) return true;
    if (el.localName === "input") return !["checkbox", "radio", "button", "submit", "reset", "image", "file", "hidden", "range", "color"].includes(el.type);
    return ["textbox", "searchbox", "combobox", "spinbutton"].includes(role(el));
  }
  function editableState(el) {
    if (!isTextField(el) && el.localName !== "select") return null;
    if (!isEnabled(el)) return false;
    if (el.readOnly || el.getAttribute("aria-readonly") === "true") return false;
    return true;
  }
  function deepActiveElement() {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    return a;
  }
  function isEmpty(el) {
    if (el.localName === "input" || el.localName === "textarea") return el.value === "";
    return norm(el.textContent) === "";
  }
  // The states a locator can filter on, by key: the element's state for that key.
  const STATE_FILTERS = {
    checked: checkedState,
    selected: selectedState,
    disabled: (el) => !isEnabled(el),
    expanded: expandedState,
    pressed: (el) => ariaTriState(el, "aria-pressed"),
    level: levelOf,
  };
  function applyFilters(found, loc) {
    let out = found;
    if (loc.has_text) { const m = matcher(loc.has_text); out = out.filter((el) => m(textOf(el))); }
    if (loc.has_own_text) { const m = matcher(loc.has_own_text); out = out.filter((el) => m(ownText(el))); }
    if (loc.has_not_text) { const m = matcher(loc.has_not_text); out = out.filter((el) => !m(textOf(el))); }
    if (loc.has) out = out.filter((el) => hasInside(el, loc.has));
    if (loc.has_not) out = out.filter((el) => !hasInside(el, loc.has_not));
    for (const key in STATE_FILTERS) {
      if (loc[key] !== undefined && loc[key] !== null) out = out.filter((el) => STATE_FILTERS[key](el) === loc[key]);
    }
    return out;
  }
  function describeFilters(loc) {
    let s = "";
    if (loc.has_text) s += " has_text" + describePattern(loc.has_text);
    if (loc.has_own_text) s += " has_own_text" + describePattern(loc.has_own_text);
    if (loc.has_not_text) s += " has_not_text" + describePattern(loc.has_not_text);
    if (loc.has) s += " has=(" + describeLocator(loc.has) + ")";
    if (loc.has_not) s += " has_not=(" + describeLocator(loc.has_not) + ")";
    for (const key in STATE_FILTERS) if (loc[key] !== undefined && loc[key] !== null) s += " " + key + "=" + loc[key];
    return s;
  }
  // `expect` of one state: {ok} or {ok:false, reason} saying the state the element is in.
  function expectState(el, key, want) {
    const d = describe(el);
    const yes = (word, no) => (v) => v === true ? word : v === false ? no : v === "mixed" ? "mixed (" + word + " and " + no + ")" : null;
    let state, say;
    switch (key) {
      case "checked": state = checkedState(el); say = yes("checked", "not checked");
        if (state === null) return { ok: false, reason: d + " cannot be checked: it is not a checkbox, radio button or switch" }; break;
      case "selected": state = selectedState(el); say = yes("selected", "not selected");
        if (state === null) return { ok: false, reason: d + " cannot be selected: it is not an option, tab, row or cell" }; break;
      case "enabled": state = isEnabled(el); say = yes("enabled", "disabled"); break;
      case "disabled": state = !isEnabled(el); say = yes("disabled", "enabled"); break;
      case "editable": state = editableState(el);
        if (state === null) return { ok: false, reason: d + " is not an editable field (input, textarea, select or contenteditable)" };
        say = (v) => v ? "editable" : (!isEnabled(el) ? "disabled" : "read-only"); break;
      case "focused": {
        const a = deepActiveElement();
        state = a === el;
        if (state === want) return { ok: true };
        return { ok: false, reason: want ? d + " is not focused; the focus is on " + (a && a !== document.body ? describe(a) : "the page (no element)") : d + " is focused" };
      }
      case "empty": state = isEmpty(el);
        if (state === want) return { ok: true };
        return { ok: false, reason: want ? d + ' is not empty: it has "' + norm(el.localName === "input" || el.localName === "textarea" ? el.value : el.textContent).slice(0, 100) + '"' : d + " is empty" };
      case "expanded": state = expandedState(el); say = yes("expanded", "collapsed");
        if (state === null) return { ok: false, reason: d + " has no expanded state (no aria-expanded, not a <details>)" }; break;
      case "pressed": state = ariaTriState(el, "aria-pressed"); say = yes("pressed", "not pressed");
        if (state === null) return { ok: false, reason: d + " has no pressed state (no aria-pressed)" }; break;
      case "level": state = levelOf(el);
        if (state === want) return { ok: true };
        return { ok: false, reason: state === null ? d + " has no level (not a heading)" : d + " is level " + state + ", expected level " + want };
      default: return { ok: false, fatal: true, reason: "unknown state " + key };
    }
    if (state === want) return { ok: true };
    return { ok: false, reason: d + " is " + say(state) + ", expected " + say(want) };
  }

  function query(loc, root) {
    let found;
    const problems = [];
    let hints = null;
    if (loc.css) found = Array.from(root.querySelectorAll(loc.css));
    else if (loc.xpath) {
      const doc = root.ownerDocument || root;
      const it = doc.evaluate(loc.xpath, root, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
      found = []; for (let i = 0; i < it.snapshotLength; i++) { const n = it.snapshotItem(i); if (n.nodeType === 1) found.push(n); }
    } else if (loc.frame_name) {
      const m = matcher(loc.frame_name);
      found = allElements(root).filter((el) => (el.localName === "iframe" || el.localName === "frame")
        && (m(el.getAttribute("title") || "") || m(el.getAttribute("name") || "")));
    } else if (loc.test_id) found = allElements(root).filter((el) => el.getAttribute("data-testid") === loc.test_id);
    else if (loc.placeholder) { const m = matcher(loc.placeholder); found = allElements(root).filter((el) => el.hasAttribute("placeholder") && m(el.getAttribute("placeholder"))); }
    else if (loc.label) { const r = byLabel(root, matcher(loc.label)); found = r.elements; problems.push(...r.problems); hints = r.hints; }
    else if (loc.text) found = smallestWithText(root, matcher(loc.text));
    else if (loc.role) {
      const m = loc.name ? matcher(loc.name) : null;
      found = applyFilters(allElements(root).filter((el) => role(el) === loc.role && (!m || m(accName(el)))), loc);
      // Hidden elements are not in the accessibility tree: ignore them for role queries,
      // but keep them if nothing visible matches (so the error can say "found but hidden").
      const vis = found.filter(isShown);
      if (vis.length) found = vis;
      if (!found.length && m && loc.name.kind === "exact") problems.push(...glyphHints(loc));
      return { found, problems, hints };
    } else found = [];
    return { found: applyFilters(found, loc), problems, hints };
  }
  function describeLocator(loc) {
    let s = "";
    if (loc.within) s += describeLocator(loc.within) + " >> ";
    if (loc.role) s += "role=" + loc.role + (loc.name ? " name" + describePattern(loc.name) : "");
    else if (loc.label) s += "label" + describePattern(loc.label);
    else if (loc.text) s += "text" + describePattern(loc.text);
    else if (loc.placeholder) s += "placeholder" + describePattern(loc.placeholder);
    else if (loc.frame_name) s += "frame" + describePattern(loc.frame_name);
    else if (loc.test_id) s += "test_id=" + loc.test_id;
    else if (loc.css) s += "css=" + loc.css;
    else if (loc.xpath) s += "xpath=" + loc.xpath;
    s += describeFilters(loc);
    if (loc.nth !== undefined && loc.nth !== null) s += " nth=" + loc.nth;
    return s;
  }
  function pageInfo() { return "the page is " + location.pathname + location.search + ' (title "' + document.title + '")'; }
  // Resolve to a list (for count) or a single element (unique, or nth).
  function resolveAll(loc) {
    let root = document;
    if (loc.within) {
      const w = resolveOne(loc.within);
      if (!w.el) return { error: w.error, found: [] };
      root = w.el;
    }
    return query(loc, root);
  }
  function resolveOne(loc) {
    const r = resolveAll(loc);
    if (r.error) return { error: r.error };
    let found = r.found;
    if (loc.nth !== undefined && loc.nth !== null) {
      const i = loc.nth < 0 ? found.length + loc.nth : loc.nth;
      if (!found[i]) return { error: "no element at nth=" + loc.nth + " (" + found.length + " match " + describeLocator(loc) + "); " + pageInfo() };
      const hint = r.hints && r.hints.get(found[i]);
      return hint ? { el: found[i], hint } : { el: found[i] };
    }
    if (found.length === 0) {
      return { error: "no element matches " + describeLocator(loc) + (r.problems.length ? " (" + r.problems.join("; ") + ")" : "") + "; " + pageInfo() };
    }
    if (found.length > 1) {
      const visible = found.filter(isShown);
      if (visible.length === 1 && !loc.css && !loc.xpath) return { el: visible[0] };
      const list = found.slice(0, 5).map(describe).join(", ");
      return { error: found.length + " elements match " + describeLocator(loc) + ": " + list + (found.length > 5 ? ", …" : "") + "; add `within:` or `nth:`, or make the name more specific"
        + (loc.has_text ? " (has_text sees the text of nested elements too; has_own_text sees an element's own text)" : "") };
    }
    const hint = r.hints && r.hints.get(found[0]);
    return hint ? { el: found[0], hint } : { el: found[0] };
  }

  function hitTarget(el) {
    // Try the centre of each box of the element (an inline link that wraps has several; the
    // centre of their union can fall between the lines, on the parent).
    const rects = Array.from(el.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
    if (!rects.length) rects.push(el.getBoundingClientRect());
    const root = el.getRootNode();
    let last = null;
    for (const r of rects) {
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      const hit = (root.elementFromPoint ? root : document).elementFromPoint(x, y);
      if (!hit) { last = { ok: false, x, y, reason: "its centre is outside the viewport" }; continue; }
      if (hit === el || el.contains(hit)) return { ok: true, x, y };
      // A label's control, or an element inside a shadow host.
      if (el.labels && Array.from(el.labels).some((l) => l === hit || l.contains(hit))) return { ok: true, x, y };
      if (hit.shadowRoot && hit.shadowRoot.contains(el)) return { ok: true, x, y };
      last = { ok: false, x, y, reason: "covered by " + describe(hit) };
    }
    return last;
  }

  // Where this frame's viewport starts in the top-level one, if every frame up is same-origin
  // (pointer actions use top-level coordinates); null when a cross-origin parent hides it.
  function topOffset() {
    let dx = 0, dy = 0, w = window;
    try {
      while (w !== w.top) {
        const fe = w.frameElement;
        if (!fe) return null;
        const r = fe.getBoundingClientRect(), cs = w.parent.getComputedStyle(fe);
        dx += r.left + fe.clientLeft + parseFloat(cs.paddingLeft || "0");
        dy += r.top + fe.clientTop + parseFloat(cs.paddingTop || "0");
        w = w.parent;
      }
    } catch (e) { return null; }
    return { dx, dy };
  }
  // A point result, in top-level coordinates when they are known (`top: true`).
  function pointResult(extra, x, y, tx, ty) {
    const off = topOffset();
    const out = Object.assign({ ok: true, x, y }, extra);
    if (tx !== undefined) { out.tx = tx; out.ty = ty; }
    if (off) {
      out.x += off.dx; out.y += off.dy; out.top = true;
      if (tx !== undefined) { out.tx += off.dx; out.ty += off.dy; }
    }
    return out;
  }

  // ---- settling: running CSS transitions/animations -----------------------------------------
  // Properties whose animation cannot move or resize anything (paint only).
  const PAINT_ONLY = /^(opacity|color|background(-color|-image)?|border(-(top|right|bottom|left))?-color|outline(-color|-offset|-width|-style)?|box-shadow|text-shadow|text-decoration-color|caret-color|fill|stroke|filter|backdrop-filter|visibility|accent-color|clip-path|mask.*|cursor)$/;
  const TRANSFORM_ONLY = /^(transform|translate|rotate|scale|perspective|offset-.*)$/;
  function animatedProperties(a) {
    if (typeof a.transitionProperty === "string") return [a.transitionProperty];
    const props = new Set();
    try {
      for (const k of a.effect.getKeyframes()) {
        for (const p of Object.keys(k)) if (!["offset", "computedOffset", "easing", "composite"].includes(p)) props.add(p);
      }
    } catch (e) { return ["?"]; }
    return Array.from(props);
  }
  // The finite transitions/animations that can still move `el`: on it or an ancestor (a
  // transform moves the subtree), or on an element before it in the document (a section
  // expanding above pushes it down). Infinite ones never settle: the box check covers them.
  // `Document.getAnimations()` flushes pending style first, so a transition that a click
  // has just started is listed even before its first frame.
  function settling(el) {
    if (typeof document.getAnimations !== "function") return [];
    const chain = new Set();
    for (let n = el; n; n = n.parentElement || (n.getRootNode && n.getRootNode().host) || null) chain.add(n);
    const out = [];
    for (const a of document.getAnimations()) {
      if (a.playState !== "running" && !a.pending) continue;
      const target = a.effect && a.effect.target;
      if (!target || !a.effect.getComputedTiming) continue;
      const t = a.effect.getComputedTiming();
      if (!isFinite(t.endTime)) continue;
      const onChain = chain.has(target);
      // A transform moves its own subtree only; on an element before this one it can at most
      // cover it, which the hit test and the hit-target check see.
      const moving = animatedProperties(a).filter((p) => !PAINT_ONLY.test(p) && (onChain || !TRANSFORM_ONLY.test(p)));
      if (!moving.length) continue;
      const before = target.compareDocumentPosition && (target.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
      if (!onChain && !before) continue;
      out.push(moving[0] + " on " + describe(target));
    }
    return out;
  }

  // ---- hit-target check ---------------------------------------------------------------------
  // The locate script arms a capturing listener for the events the act will send; the first
  // trusted one decides whether the act reached the located element (or inside it, or its
  // label). A miss is blocked (preventDefault + stopImmediatePropagation on it and every later
  // event of the act), so it changes nothing in the page and the act can be retried; the
  // `verify` op, the round trip after the act, reads the verdict back. The verdict also goes to
  // sessionStorage: when the act navigates, the new document (same origin) can still read it.
  const HIT_EVENTS = {
    click: ["pointerdown", "mousedown", "pointerup", "mouseup", "click", "auxclick", "dblclick", "contextmenu", "dragstart"],
    hover: ["pointerover", "pointermove", "mouseover", "mousemove"],
    input: ["keydown", "beforeinput", "input"],
  };
  const HIT_KEY = "__flows_hit";
  function inside(container, node) {
    for (let n = node; n; n = n.parentNode || n.host) if (n === container) return true;
    return false;
  }
  function reaches(el, node) {
    if (!node) return false;
    if (inside(el, node)) return true;
    // A click on a label reaches its control.
    return !!(el.labels && Array.from(el.labels).some((l) => inside(l, node)));
  }
  function disarm() {
    const s = window.__flowsHit;
    if (!s) return null;
    for (const t of s.events) window.removeEventListener(t, s.listener, true);
    window.__flowsHit = null;
    return s;
  }
  function arm(el, kind, x, y) {
    disarm();
    const r = el.getBoundingClientRect();
    const s = {
      token: Math.random().toString(36).slice(2) + performance.now().toString(36).replace(".", ""),
      el, kind, x, y, box: [r.left, r.top, r.width, r.height], result: null, on: null, event: null,
      events: HIT_EVENTS[kind],
    };
    s.listener = (ev) => {
      if (!ev.isTrusted) return;
      if (s.result === null) {
        const target = (ev.composedPath && ev.composedPath()[0]) || ev.target;
        s.result = reaches(el, target) ? "landed" : "missed";
        s.event = ev.type;
        if (s.result === "missed") s.on = describe(target && target.nodeType === 1 ? target : target && target.parentElement);
        try { sessionStorage.setItem(HIT_KEY, JSON.stringify({ token: s.token, result: s.result, on: s.on, event: s.event })); } catch (e) { /* opaque origin */ }
      }
      if (s.result === "missed") { ev.preventDefault(); ev.stopImmediatePropagation(); }
    };
    for (const t of s.events) window.addEventListener(t, s.listener, true);
    window.__flowsHit = s;
    return s.token;
  }
  // The verdict on the act armed with `token`.
  function verifyHit(token) {
    let stored = null;
    try {
      const raw = sessionStorage.getItem(HIT_KEY);
      if (raw) { sessionStorage.removeItem(HIT_KEY); const v = JSON.parse(raw); if (v && v.token === token) stored = v; }
    } catch (e) { /* opaque origin */ }
    const s = window.__flowsHit && window.__flowsHit.token === token ? disarm() : null;
    if (!s) {
      // The armed document is gone (the act navigated). Its record, if the new document may
      // read it, says where the act landed; without one, the navigation itself is the evidence:
      // a missed event was blocked, so it cannot have started one.
      if (stored) return { ok: true, hit: stored.result === "landed" ? "landed" : "missed", on: stored.on, event: stored.event, replaced: true };
      return { ok: true, hit: "navigated", page: location.href };
    }
    const el = s.el;
    const out = { ok: true, hit: s.result || "none", on: s.on, event: s.event };
    if ("checked" in el) out.checked = !!el.checked;
    // A hover that moved nothing (the pointer was already there) still hovers the element.
    if (s.result === null && s.kind === "hover" && el.isConnected && el.matches(":hover")) out.hit = "landed";
    if (out.hit === "landed") return out;
    out.target = describe(el);
    if (!el.isConnected) { out.detached = true; return out; }
    const r = el.getBoundingClientRect();
    out.moved = Math.abs(r.left - s.box[0]) > 0.5 || Math.abs(r.top - s.box[1]) > 0.5 || Math.abs(r.width - s.box[2]) > 0.5 || Math.abs(r.height - s.box[3]) > 0.5;
    return out;
  }

  function checkActionable(loc, needEnabled) {
    const one = resolveOne(loc);
    if (!one.el) return { ok: false, reason: one.error };
    const el = one.el;
    if (!el.isConnected) return { ok: false, reason: "element detached" };
    const hint = one.hint ? " (" + one.hint + ")" : "";
    if (!isVisible(el)) return { ok: false, reason: "found but hidden: " + describe(el) + hint };
    if (needEnabled && !isEnabled(el)) return { ok: false, reason: "found but disabled: " + describe(el) + hint };
    return { ok: true, el };
  }

  // An armed listener lives until the round trip after its act; one whose act never came (the
  // step stopped in between) must not judge later events.
  if (request.op !== "verify") disarm();
  // The page's stylesheets as text, so that the trace's snapshot (a file that loads nothing)
  // renders with them: every sheet a script may read (same-origin <link>s, @imports,
  // CSSOM-inserted and adopted sheets; a <style> with text is in the HTML already), up to
  // STYLE_BUDGET characters. Cross-origin sheets, and what is over the budget, are left out.
  const STYLE_BUDGET = 256 * 1024;
  function pageStyles() {
    let css = "", left_out = 0;
    const textOf = (sheet, depth) => {
      let text = "";
      for (const r of sheet.cssRules) {
        if (r.styleSheet && depth < 4) { try { text += textOf(r.styleSheet, depth + 1); } catch (e) { left_out++; } }
        else text += r.cssText + "\n";
      }
      return text;
    };
    const add = (sheet) => {
      let text;
      try { text = textOf(sheet, 0); } catch (e) { left_out++; return; }
      if (css.length + text.length > STYLE_BUDGET) { left_out++; return; }
      css += text;
    };
    for (const sheet of Array.from(document.styleSheets)) {
      const owner = sheet.ownerNode;
      if (owner && owner.localName === "style" && owner.textContent.trim()) continue;
      if (sheet.disabled) continue;
      add(sheet);
    }
    for (const sheet of document.adoptedStyleSheets || []) add(sheet);
    return { css, left_out };
  }
  const slice = Math.max(0, request.slice_ms || 0);
  const started = performance.now();
  let deadline = started + slice;
  let lastBox = null;
  let observer = null;
  let finished = false;
  // The hit-target verdict, once the next step's request (`then`) runs in this round trip.
  let verdict = null;
  // The trace's DOM snapshot, taken here when the step's own round trip can bring it (expect,
  // wait_for, the hit-target verdict after an act, the executor's after-step snapshot).
  function withSnapshot(v) {
    // A document being replaced can have no root yet (Firefox, mid-navigation): no snapshot.
    if (request.snapshot && v.ok && window === window.top && document.documentElement) {
      const styles = pageStyles();
      v.snapshot = [location.href, document.title, document.documentElement.outerHTML, styles.css, styles.left_out];
    }
    return v;
  }
  function finish(v) {
    if (finished) return; finished = true;
    if (observer) observer.disconnect();
    v = withSnapshot(v);
    if (verdict) { verdict.then = v; v = verdict; }
    v.page_ms = performance.now() - started;
    done(v);
  }
  // After a verdict that the act landed, the next step's first request (`request.then`, the
  // same one that step will send) runs here with a short wait of its own: its answer rides back
  // with the verdict, so the verdict costs no round trip of its own (steps.rs `prefetch`).
  function thenNext(r) {
    if (request.op !== "verify" || !request.then || !r.ok || (r.hit !== "landed" && r.hit !== "navigated")) return r;
    verdict = withSnapshot(r);
    request = request.then;
    const wait = Math.max(0, request.slice_ms || 0);
    deadline = performance.now() + wait;
    setTimeout(() => { if (!finished) finish(attempt()); }, wait + 50);
    return attempt();
  }

  function attempt() {
    try {
      const op = request.op;
      const loc = request.locator;
      if (op === "verify") return verifyHit(request.token);
      if (op === "snapshot") return { ok: true };
      if (op === "expect") return evalExpect(request.assert, loc);
      if (op === "wait") return evalWait(request.state, loc);
      if (op === "naming") {
        // `flows record`: request.element's role, accessible name and label text, as this
        // script computes them, for the recorder's locator candidates.
        const el = request.element;
        const labels = labelsOf(el).map((l) => norm(textAlternative(l, new Set([el]), true))).filter(Boolean);
        return { ok: true, role: role(el) || null, name: accName(el), labels: labels, control: isControl(el) };
      }
      if (op === "resolves") {
        // `flows record`: whether the locator resolves, as an action's would, to request.element.
        const one = resolveOne(loc);
        return { ok: true, same: !!one.el && one.el === request.element };
      }
      if (op === "probe") {
        // What a locator matches right now (the debugger's `l`): never waits, never acts.
        const all = resolveAll(loc);
        if (all.error) return { ok: true, count: 0, matches: [], verdict: all.error };
        const one = resolveOne(loc);
        const matches = all.found.slice(0, 10).map((el) => describe(el) + (isVisible(el) ? "" : " [hidden]") + (isEnabled(el) ? "" : " [disabled]"));
        return { ok: true, count: all.found.length, matches: matches, verdict: one.el ? "an action would use " + describe(one.el) : one.error };
      }
      if (op === "text") {
        const one = resolveOne(loc);
        if (!one.el) return { ok: false, reason: one.error };
        const el = one.el;
        if (request.attribute) {
          const v = el.getAttribute(request.attribute);
          if (v === null) return { ok: false, reason: "no attribute " + request.attribute + " on " + describe(el) };
          return { ok: true, text: v };
        }
        const text = ("value" in el && ["input", "textarea", "select"].includes(el.localName)) ? el.value : (el.innerText || el.textContent);
        return { ok: true, text: norm(text) };
      }
      if (op === "names") {
        // Every visible element with a role (with `all`: every visible element, role null when
        // this script gives it none), with its role and accessible name: for checking this
        // script's roles and accname against the browser's own (Get Computed Label/Role).
        const out = [];
        let truncated = false;
        for (const el of allElements(document)) {
          const r = role(el);
          if ((!r && !request.all) || !isVisible(el)) continue;
          if (out.length >= 5000) { truncated = true; break; }
          out.push({ element: el, role: r || null, name: r ? accName(el) : "", html: el.outerHTML.slice(0, 120) });
        }
        return { ok: true, elements: out, truncated };
      }
      if (op === "rects") {
        // expect_screenshot: the boxes (document coordinates) of what `masks` match (every
        // shown match; none is fine) and of the one `element` to capture, if any.
        const box = (el) => { const r = el.getBoundingClientRect(); return [r.left + scrollX, r.top + scrollY, r.width, r.height]; };
        const masks = [];
        for (const m of request.masks || []) {
          const all = resolveAll(m);
          for (const el of all.found || []) if (isShown(el)) masks.push(box(el));
        }
        if (!loc) return { ok: true, masks: masks };
        const one = resolveOne(loc);
        if (!one.el) return { ok: false, reason: one.error };
        if (!isShown(one.el)) return { ok: false, reason: "found but hidden: " + describe(one.el) };
        return { ok: true, masks: masks, element: box(one.el), scroll: [scrollX, scrollY] };
      }
      if (op === "frame") {
        // The frame element to switch into, and where its viewport starts in ours.
        const one = resolveOne(loc);
        if (!one.el) return { ok: false, reason: one.error };
        const el = one.el;
        if (el.localName !== "iframe" && el.localName !== "frame") return { ok: false, fatal: true, reason: "not a frame: " + describe(el) };
        const r = el.getBoundingClientRect();
        const cs = getComputedStyle(el);
        return { ok: true, element: el, dx: r.left + el.clientLeft + parseFloat(cs.paddingLeft || "0"), dy: r.top + el.clientTop + parseFloat(cs.paddingTop || "0") };
      }
      const a = checkActionable(loc, op !== "hover");
      if (!a.ok) { lastBox = null; return a; }
      const el = a.el;
      if (op === "select") {
        if (el.localName !== "select") return { ok: false, fatal: true, reason: "not a <select>: " + describe(el) };
        const want = request.option;
        const opts = Array.from(el.options);
        let opt = opts.find((o) => norm(o.label || o.textContent) === norm(want)) || opts.find((o) => o.value === want)
          || opts.find((o) => norm(o.label || o.textContent).toLowerCase().includes(norm(want).toLowerCase()));
        if (!opt) return { ok: false, reason: 'no option "' + want + '" in ' + describe(el) + "; options: " + opts.map((o) => '"' + norm(o.textContent) + '"').join(", ") };
        el.value = opt.value;
        opt.selected = true;
        el.dispatchEvent(new Event("input", { bubbles: true }));
        el.dispatchEvent(new Event("change", { bubbles: true }));
        return { ok: true, selected: norm(opt.textContent) };
      }
      if (op === "upload") {
        if (!(el.localName === "input" && el.type === "file")) {
          // A styled button: the file input is its label's control or inside it.
          const inner = el.querySelector && el.querySelector("input[type=file]");
          if (inner) return { ok: true, element: inner };
          return { ok: false, fatal: true, reason: "not a file input: " + describe(el) };
        }
        return { ok: true, element: el };
      }
      // Stability: no running transition/animation that can still move it, then the same box
      // on two consecutive frames (script-driven motion has no Animation object).
      el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
      const running = settling(el);
      if (running.length) { lastBox = null; return { ok: false, reason: "not stable yet: waiting for " + running.length + " running animation(s) to finish (" + running.slice(0, 3).join("; ") + "): " + describe(el), unstable: true }; }
      const r = el.getBoundingClientRect();
      const box = [r.left, r.top, r.width, r.height];
      // Under two pixels apart is the same place: Firefox can land the centring scroll a pixel
      // apart on each attempt (seen: 359 ↔ 360), which no click would notice; the act's
      // hit-target check still verifies where the click lands.
      const same = lastBox && box.every((v, i) => Math.abs(v - lastBox[i]) < 2);
      if (!same) {
        const was = lastBox ? " (" + lastBox.map(Math.round).join(",") + " → " + box.map(Math.round).join(",") + ")" : "";
        lastBox = box;
        return { ok: false, reason: "not stable yet (moving" + was + "): " + describe(el), unstable: true };
      }
      const hit = hitTarget(el);
      if (!hit.ok) return { ok: false, reason: "found but it does not receive pointer events: " + hit.reason + "; target " + describe(el) };
      if (request.target) {
        // A drag: where to drop. The drop target may be covered by what is dragged, so it
        // must be unique and visible, and in view together with the source.
        const t = resolveOne(request.target);
        if (!t.el) return { ok: false, reason: "drop target: " + t.error };
        if (!isVisible(t.el)) return { ok: false, reason: "drop target found but hidden: " + describe(t.el) };
        const tr = t.el.getBoundingClientRect();
        const tx = tr.left + tr.width / 2, ty = tr.top + tr.height / 2;
        if (tx < 0 || ty < 0 || tx > innerWidth || ty > innerHeight) return { ok: false, fatal: true, reason: "the drop target " + describe(t.el) + " is not in view together with " + describe(el) + " (the viewport is " + innerWidth + "x" + innerHeight + ")" };
        return pointResult({ hit: request.arm ? arm(el, request.arm, hit.x, hit.y) : undefined }, hit.x, hit.y, tx, ty);
      }
      if (op === "fill" || op === "focus" || op === "setvalue") {
        el.focus();
        if (op === "fill" || op === "setvalue") {
          const editable = el.isContentEditable || ["input", "textarea"].includes(el.localName);
          if (!editable) return { ok: false, fatal: true, reason: "not a text field: " + describe(el) };
          if (el.readOnly) return { ok: false, reason: "found but read-only: " + describe(el) };
          if (op === "setvalue") {
            const proto = el.localName === "textarea" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
            Object.getOwnPropertyDescriptor(proto, "value").set.call(el, request.value);
            el.dispatchEvent(new Event("input", { bubbles: true }));
            el.dispatchEvent(new Event("change", { bubbles: true }));
          } else if (el.select) el.select();
          else { const range = document.createRange(); range.selectNodeContents(el); const s = getSelection(); s.removeAllRanges(); s.addRange(range); }
        }
      }
      const extra = { element: el };
      if ("checked" in el) extra.checked = !!el.checked;
      if (request.arm) extra.hit = arm(el, request.arm, hit.x, hit.y);
      return pointResult(extra, hit.x, hit.y);
    } catch (e) {
      return { ok: false, fatal: true, reason: "script error: " + (e && e.message ? e.message : String(e)) };
    }
  }

  function evalWait(state, loc) {
    const r = resolveAll(loc);
    if (r.error) return state === "detached" || state === "hidden" ? { ok: true } : { ok: false, reason: r.error };
    const vis = r.found.filter(isShown);
    switch (state) {
      case "attached": return r.found.length ? { ok: true } : { ok: false, reason: "no element matches " + describeLocator(loc) + "; " + pageInfo() };
      case "detached": return r.found.length ? { ok: false, reason: r.found.length + " still attached: " + describe(r.found[0]) } : { ok: true };
      case "hidden": return vis.length ? { ok: false, reason: "still visible: " + describe(vis[0]) } : { ok: true };
      default: return vis.length ? { ok: true } : { ok: false, reason: r.found.length ? "found but hidden: " + describe(r.found[0]) : "no element matches " + describeLocator(loc) + "; " + pageInfo() };
    }
  }

  function evalExpect(as, loc) {
    if (as.url) {
      const m = as.url;
      const here = location.href;
      let ok;
      if (m.kind === "regex") ok = new RegExp(m.source, m.flags).test(here);
      else if (m.value.startsWith("/")) ok = (location.pathname + location.search) === m.value || location.pathname === m.value;
      else ok = here === m.value || here.replace(/\/$/, "") === m.value.replace(/\/$/, "");
      return ok ? { ok: true } : { ok: false, reason: "the URL is " + here + ", expected " + (m.kind === "regex" ? "/" + m.source + "/" : m.value) };
    }
    if (as.title) {
      return matcher(as.title)(document.title) ? { ok: true } : { ok: false, reason: 'the title is "' + document.title + '", expected ' + describePattern(as.title) };
    }
    if (as.count !== undefined && as.count !== null) {
      const r = resolveAll(loc);
      if (r.error) return { ok: false, reason: r.error };
      return r.found.length === as.count ? { ok: true } : { ok: false, reason: r.found.length + " elements match " + describeLocator(loc) + ", expected " + as.count };
    }
    if (as.hidden) {
      const r = resolveAll(loc);
      const vis = (r.found || []).filter(isShown);
      return vis.length ? { ok: false, reason: "expected hidden, but visible: " + describe(vis[0]) } : { ok: true };
    }
    const one = resolveOne(loc);
    if (!one.el) return { ok: false, reason: one.error };
    const el = one.el;
    // A state is a property of the element, shown or not (a styled checkbox hides its input).
    if (as.state) return expectState(el, as.state, as.want);
    if (!isShown(el)) return { ok: false, reason: "found but hidden: " + describe(el) + (one.hint ? " (" + one.hint + ")" : "") };
    if (as.has_text) {
      const t = el.innerText !== undefined ? el.innerText : el.textContent;
      return matcher(as.has_text)(t) ? { ok: true } : { ok: false, reason: 'the text is "' + norm(t).slice(0, 200) + '", expected ' + describePattern(as.has_text) + " (" + describe(el) + ")" };
    }
    if (as.has_value) {
      if (!("value" in el) || typeof el.value !== "string") return { ok: false, reason: describe(el) + " has no value: it is not a form field" };
      const v = el.value;
      return valueMatcher(as.has_value)(v) ? { ok: true } : { ok: false, reason: "the value is " + JSON.stringify(v.slice(0, 200)) + ", expected " + describePattern(as.has_value) + " (" + describe(el) + ")" };
    }
    return { ok: true };
  }

  function tick() {
    if (finished) return;
    const r = thenNext(attempt());
    if (r.ok || r.fatal || performance.now() >= deadline) { finish(r); return; }
    // Wait for the next frame, or a DOM change, whichever comes first. A page the browser does
    // not paint gets no frames (Firefox: a window or tab it treats as not shown): a timer then
    // ticks instead, and stability is the same box on two consecutive attempts.
    let woke = false;
    const wake = () => { if (!woke) { woke = true; setTimeout(tick, 0); } };
    requestAnimationFrame(wake);
    setTimeout(wake, 250);
  }
  if (slice > 0 && typeof MutationObserver !== "undefined") {
    observer = new MutationObserver(() => { /* wakes the frame loop; tick runs on rAF */ });
    observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  }
  // Fallback timer in case rAF is throttled (background tab): never exceed the slice.
  if (slice > 0) setTimeout(() => { if (!finished) { const r = attempt(); finish(r); } }, slice + 50);
  tick();
})(arguments[0], arguments[arguments.length - 1]);
