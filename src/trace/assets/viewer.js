// The trace viewer's behaviour: frames from the JSON block, step selection, keyboard.
// Plain inline JS, no dependencies. Any error is shown in #viewer-errors (tests assert it
// stays hidden).
(function () {
  "use strict";
  var errorBox = document.getElementById("viewer-errors");
  function fail(message) {
    errorBox.hidden = false;
    var li = document.createElement("li");
    li.textContent = String(message);
    errorBox.querySelector("ul").appendChild(li);
  }
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && t.tagName) {
      fail("could not load <" + t.tagName.toLowerCase() + ">" +
        (t.getAttribute("data-frame") ? " frame " + t.getAttribute("data-frame") : ""));
    } else {
      fail((e.message || "error") + (e.lineno ? " (line " + e.lineno + ")" : ""));
    }
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    fail("unhandled rejection: " + (e.reason && e.reason.message ? e.reason.message : e.reason));
  });

  function all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  // Frames: each stored once as a data: URL, shown wherever its id is named.
  var frames = JSON.parse(document.getElementById("frames").textContent);
  all(document, "img[data-frame]").forEach(function (img) {
    var id = img.getAttribute("data-frame");
    if (!Object.prototype.hasOwnProperty.call(frames, id)) {
      fail("frame " + id + " is missing from the trace");
      return;
    }
    img.addEventListener("load", function () {
      img.setAttribute("data-loaded", "true");
      img.setAttribute("data-natural-width", String(img.naturalWidth));
    });
    img.src = frames[id];
  });

  // Screenshot comparison: the actual image covers the expected one up to the slider.
  all(document, "input.visual-range").forEach(function (range) {
    var top = range.previousElementSibling && range.previousElementSibling.querySelector(".visual-top");
    if (!top) return;
    function wipe() { top.style.width = range.value + "%"; }
    range.addEventListener("input", wipe);
    wipe();
  });

  var attempts = all(document, "section.attempt");
  var tabs = all(document, ".attempt-tab");
  var current = null;

  function steps(attempt) {
    return all(attempt, ".steps .step");
  }

  function loadDom(detail) {
    var frame = detail.querySelector("iframe[data-dom]");
    if (!frame || frame.hasAttribute("srcdoc")) return;
    var source = document.getElementById("dom-" + frame.getAttribute("data-dom"));
    if (!source) {
      fail("DOM snapshot " + frame.getAttribute("data-dom") + " is missing from the trace");
      return;
    }
    frame.srcdoc = source.getAttribute("data-srcdoc");
  }

  function showAttempt(attempt) {
    if (current === attempt) return;
    current = attempt;
    attempts.forEach(function (a) { a.hidden = a !== attempt; });
    tabs.forEach(function (t) {
      t.setAttribute("aria-pressed", String(t.getAttribute("data-attempt") === attempt.getAttribute("data-attempt")));
    });
  }

  function select(attempt, index, scroll) {
    showAttempt(attempt);
    index = String(index);
    steps(attempt).forEach(function (li) {
      var on = li.getAttribute("data-index") === index;
      li.classList.toggle("selected", on);
      li.setAttribute("aria-selected", String(on));
      if (on) {
        li.setAttribute("aria-current", "step");
        if (scroll) li.scrollIntoView({ block: "nearest" });
      } else {
        li.removeAttribute("aria-current");
      }
    });
    all(attempt, ".detail").forEach(function (d) {
      var on = d.getAttribute("data-index") === index;
      d.hidden = !on;
      if (on) loadDom(d);
    });
    all(attempt, ".frame").forEach(function (b) {
      var on = b.getAttribute("data-index") === index;
      b.classList.toggle("selected", on);
      b.setAttribute("aria-pressed", String(on));
      if (on && scroll) b.scrollIntoView({ block: "nearest", inline: "nearest" });
    });
    attempt.setAttribute("data-selected", index);
    var li = attempt.querySelector('.step[data-index="' + index + '"]');
    if (li) {
      try {
        history.replaceState(null, "", "#" + li.id);
      } catch (e) {
        // Some browsers refuse replaceState on file:// URLs; the fragment is a convenience.
      }
    }
  }

  attempts.forEach(function (attempt) {
    steps(attempt).forEach(function (li) {
      li.addEventListener("click", function () { select(attempt, li.getAttribute("data-index"), false); });
    });
    all(attempt, ".frame").forEach(function (b) {
      b.addEventListener("click", function () { select(attempt, b.getAttribute("data-index"), true); });
    });
  });
  tabs.forEach(function (t) {
    t.addEventListener("click", function () {
      var attempt = document.getElementById("attempt-" + t.getAttribute("data-attempt"));
      if (attempt) {
        select(attempt, attempt.getAttribute("data-selected") || attempt.getAttribute("data-initial"), true);
      }
    });
  });

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || !current) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
    var list = steps(current);
    if (!list.length) return;
    var i = list.findIndex(function (li) { return li.classList.contains("selected"); });
    var next;
    if (e.key === "ArrowDown" || e.key === "j") next = Math.min(i + 1, list.length - 1);
    else if (e.key === "ArrowUp" || e.key === "k") next = Math.max(i - 1, 0);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = list.length - 1;
    else return;
    e.preventDefault();
    select(current, list[next].getAttribute("data-index"), true);
  });

  // Open on the step the URL names (#a1-s3), else the opening attempt's failing (or first) step.
  var named = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  if (named && named.classList.contains("step")) {
    select(named.closest("section.attempt"), named.getAttribute("data-index"), true);
  } else {
    var opening = document.querySelector("section.attempt[data-opening]") || attempts[attempts.length - 1];
    if (opening) select(opening, opening.getAttribute("data-initial"), true);
  }
  var list = current && current.querySelector(".steps");
  if (list) list.focus({ preventScroll: true });
  document.body.setAttribute("data-ready", "true");
})();
