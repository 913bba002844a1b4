// expect_screenshot's page preparation (exec/step/visual.rs), one synchronous script:
// `freeze` finishes finite CSS animations and transitions, cancels infinite ones (played again
// at `cleanup`) and hides the text caret; `mask` paints magenta boxes (document coordinates)
// over what must not be compared; `cleanup` takes all of it away again.
(function (op, masks) {
  const MARK = "data-flows-visual";
  if (op === "cleanup" || op === "freeze") {
    document.querySelectorAll("[" + MARK + "]").forEach((e) => e.remove());
    for (const a of window.__flowsVisualCancelled || []) { try { a.play(); } catch (e) { /* gone */ } }
    window.__flowsVisualCancelled = [];
    if (op === "cleanup") return 0;
    const style = document.createElement("style");
    style.setAttribute(MARK, "");
    style.textContent = "*,*::before,*::after{caret-color:transparent !important}";
    document.documentElement.appendChild(style);
    let n = 0;
    for (const a of document.getAnimations()) {
      try {
        const t = a.effect && a.effect.getComputedTiming();
        if (t && t.endTime === Infinity) { a.cancel(); window.__flowsVisualCancelled.push(a); }
        else a.finish();
        n++;
      } catch (e) { try { a.cancel(); window.__flowsVisualCancelled.push(a); n++; } catch (e2) { /* left */ } }
    }
    return n;
  }
  document.querySelectorAll("div[" + MARK + "]").forEach((e) => e.remove());
  for (const [x, y, w, h] of masks || []) {
    const d = document.createElement("div");
    d.setAttribute(MARK, "");
    d.style.cssText = "position:absolute;margin:0;padding:0;border:0;pointer-events:none;z-index:2147483647;background:#FF00FF;"
      + "left:" + x + "px;top:" + y + "px;width:" + w + "px;height:" + h + "px";
    document.documentElement.appendChild(d);
  }
  return (masks || []).length;
})(arguments[0], arguments[1]);
