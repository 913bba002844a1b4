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
(function (request, done) {
  "use strict";
  const PUA = /[\uE000-\uF8FF]|[\uDB80-\uDBFF][\uDC00-\uDFFF]/g;
  function norm(s) { return (s || "").replace(PUA, "").replace(/\s+/g, " ").trim(); }
  function matcher(p) {
    if (!p) return () => true;
    if (p.kind === "regex") { const re = new RegExp(p.source, p.flags.replace("g", "")); return (s) => re.test(norm(s)); }
    if (p.kind === "exact") { const v = norm(p.value); return (s) => norm(s) === v; }
    const v = norm(p.value).toLowerCase();
    return (s) => norm(s).toLowerCase().includes(v);
  }
  function describePattern(p) {
    if (!p) return "";
    if (p.kind === "regex") return "/" + p.source + "/" + p.flags;
    if (p.kind === "exact") return '="' + p.value + '"';
    return '~"' + p.value.toLowerCase() + '"';
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
      case "header": return el.closest("article,aside,main,nav,section") ? null : "banner";
      case "footer": return el.closest("article,aside,main,nav,section") ? null : "contentinfo";
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
      const joined = norm(parts.join(" "));
      if (joined) return joined;
    }
    const label = el.getAttribute("aria-label");
    if (label && norm(label)) return norm(label);
    const tag = el.localName;
    if (["input", "textarea", "select", "meter", "progress", "output"].includes(tag)) {
      if (tag === "input" && ["button", "submit", "reset"].includes(el.type)) {
        return norm(el.value || (el.type === "submit" ? "Submit" : el.type === "reset" ? "Reset" : ""));
      }
      if (tag === "input" && el.type === "image") return norm(el.alt || el.title || "Submit");
      const ls = labelsOf(el).map((l) => textAlternative(l, new Set([el]), true));
      if (ls.length) return norm(ls.join(" "));
      return norm(el.getAttribute("title") || el.getAttribute("placeholder") || "");
    }
    if (tag === "img" || tag === "area") return norm(el.getAttribute("alt") || el.getAttribute("title") || "");
    if (tag === "fieldset") { const lg = el.querySelector(":scope > legend"); if (lg) return norm(textAlternative(lg, new Set(), true)); }
    if (tag === "table") { const c = el.querySelector(":scope > caption"); if (c) return norm(textAlternative(c, new Set(), true)); }
    const r = role(el);
    if (r && NAME_FROM_CONTENT.has(r)) {
      const t = norm(textAlternative(el, new Set(), true));
      if (t) return t;
    }
    return norm(el.getAttribute("title") || "");
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
    const name = accName(el) || norm(el.textContent).slice(0, 40);
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
    for (const el of allElements(root)) {
      if (el.localName === "label") {
        if (!m(textAlternative(el, new Set(), true))) continue;
        const forId = el.getAttribute("for");
        if (forId) {
          // `for` refers to an id in the label's own tree (a shadow root has its own ids).
          const scope = el.getRootNode();
          const targets = (scope.querySelectorAll ? scope : el.ownerDocument).querySelectorAll("#" + CSS.escape(forId));
          if (targets.length > 1) problems.push('label "' + norm(el.textContent) + '" points at id "' + forId + '", which ' + targets.length + " elements share (" + Array.from(targets).map((t) => describe(t) + (isVisible(t) ? "" : " [hidden]")).join(", ") + "); the visible one is used");
          const visibleTargets = Array.from(targets).filter(isVisible);
          const t = visibleTargets[0] || targets[0];
          if (t) out.add(t); else problems.push('label "' + norm(el.textContent) + '" points at missing id "' + forId + '"');
        } else if (el.control) out.add(el.control);
      } else if ((el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby")) && isControl(el) && m(accName(el))) {
        out.add(el);
      }
    }
    return { elements: Array.from(out), problems };
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
  function query(loc, root) {
    let found;
    const problems = [];
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
    else if (loc.label) { const r = byLabel(root, matcher(loc.label)); found = r.elements; problems.push(...r.problems); }
    else if (loc.text) found = smallestWithText(root, matcher(loc.text));
    else if (loc.role) {
      const m = loc.name ? matcher(loc.name) : null;
      found = allElements(root).filter((el) => role(el) === loc.role && (!m || m(accName(el))));
      // Hidden elements are not in the accessibility tree: ignore them for role queries,
      // but keep them if nothing visible matches (so the error can say "found but hidden").
      const vis = found.filter(isVisible);
      if (vis.length) found = vis;
    } else found = [];
    return { found, problems };
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
      return { el: found[i] };
    }
    if (found.length === 0) {
      return { error: "no element matches " + describeLocator(loc) + (r.problems.length ? " (" + r.problems.join("; ") + ")" : "") + "; " + pageInfo() };
    }
    if (found.length > 1) {
      const visible = found.filter(isVisible);
      if (visible.length === 1 && !loc.css && !loc.xpath) return { el: visible[0] };
      const list = found.slice(0, 5).map(describe).join(", ");
      return { error: found.length + " elements match " + describeLocator(loc) + ": " + list + (found.length > 5 ? ", …" : "") + "; add `within:` or `nth:`, or make the name more specific" };
    }
    if (r.problems.length) return { el: found[0], warn: r.problems.join("; ") };
    return { el: found[0] };
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

  function checkActionable(loc, needEnabled) {
    const one = resolveOne(loc);
    if (!one.el) return { ok: false, reason: one.error };
    const el = one.el;
    if (!el.isConnected) return { ok: false, reason: "element detached" };
    if (!isVisible(el)) return { ok: false, reason: "found but hidden: " + describe(el) };
    if (needEnabled && !isEnabled(el)) return { ok: false, reason: "found but disabled: " + describe(el) };
    return { ok: true, el, warn: one.warn };
  }

  const slice = Math.max(0, request.slice_ms || 0);
  const started = performance.now();
  const deadline = started + slice;
  let lastBox = null;
  let observer = null;
  let finished = false;
  function finish(v) {
    if (finished) return; finished = true;
    if (observer) observer.disconnect();
    v.page_ms = performance.now() - started;
    // The trace's DOM snapshot, taken here when the step is read-only (expect, wait_for).
    if (request.snapshot && v.ok && window === window.top) {
      v.snapshot = [location.href, document.title, document.documentElement.outerHTML];
    }
    done(v);
  }

  function attempt() {
    try {
      const op = request.op;
      const loc = request.locator;
      if (op === "expect") return evalExpect(request.assert, loc);
      if (op === "wait") return evalWait(request.state, loc);
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
      // Stability: the same box on two consecutive frames.
      el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
      const r = el.getBoundingClientRect();
      const box = r.left + "," + r.top + "," + r.width + "," + r.height;
      if (lastBox !== box) { lastBox = box; return { ok: false, reason: "not stable yet (moving): " + describe(el), unstable: true }; }
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
        return pointResult({}, hit.x, hit.y, tx, ty);
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
      return pointResult({ element: el, warn: a.warn }, hit.x, hit.y);
    } catch (e) {
      return { ok: false, fatal: true, reason: "script error: " + (e && e.message ? e.message : String(e)) };
    }
  }

  function evalWait(state, loc) {
    const r = resolveAll(loc);
    if (r.error) return state === "detached" || state === "hidden" ? { ok: true } : { ok: false, reason: r.error };
    const vis = r.found.filter(isVisible);
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
      const vis = (r.found || []).filter(isVisible);
      return vis.length ? { ok: false, reason: "expected hidden, but visible: " + describe(vis[0]) } : { ok: true };
    }
    const one = resolveOne(loc);
    if (!one.el) return { ok: false, reason: one.error };
    const el = one.el;
    if (!isVisible(el)) return { ok: false, reason: "found but hidden: " + describe(el) };
    if (as.has_text) {
      const t = el.innerText !== undefined ? el.innerText : el.textContent;
      return matcher(as.has_text)(t) ? { ok: true } : { ok: false, reason: 'the text is "' + norm(t).slice(0, 200) + '", expected ' + describePattern(as.has_text) + " (" + describe(el) + ")" };
    }
    if (as.has_value) {
      const v = el.value;
      return matcher(as.has_value)(v) ? { ok: true } : { ok: false, reason: 'the value is "' + String(v).slice(0, 200) + '", expected ' + describePattern(as.has_value) };
    }
    return { ok: true };
  }

  function tick() {
    if (finished) return;
    const r = attempt();
    if (r.ok || r.fatal || performance.now() >= deadline) { finish(r); return; }
    // Wait for the next frame, or a DOM change, whichever comes first.
    requestAnimationFrame(() => setTimeout(tick, 0));
  }
  if (slice > 0 && typeof MutationObserver !== "undefined") {
    observer = new MutationObserver(() => { /* wakes the frame loop; tick runs on rAF */ });
    observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  }
  // Fallback timer in case rAF is throttled (background tab): never exceed the slice.
  if (slice > 0) setTimeout(() => { if (!finished) { const r = attempt(); finish(r); } }, slice + 50);
  tick();
})(arguments[0], arguments[arguments.length - 1]);
