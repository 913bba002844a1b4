#!/usr/bin/env bash
# Hand-written mutants of src/exec/page.js, which cargo-mutants does not reach (it is JavaScript,
# compiled into the runner with include_str!). Each mutant is one exact text replacement that
# breaks one check the way a plausible bug would. The script applies each alone, rebuilds,
# runs the tests that must catch it, and expects them to FAIL; page.js is restored afterwards
# (also on Ctrl-C or an error). A mutant whose tests pass is a SURVIVOR: the exit code is 1.
#
# Not in CI (every mutant is a rebuild of the runner): run by hand after changing page.js or
# the tests that guard it, and record the result in docs/testing.md.
#
#   tests/mutants/page-js.sh            # every mutant
#   tests/mutants/page-js.sh NAME...    # some (names in the table below)
#   tests/mutants/page-js.sh --list
set -euo pipefail
cd "$(dirname "$0")/../.."
PAGE=src/exec/page.js

# name | tests that must fail (nextest filter) | text in page.js | replacement
# Fields are separated by " ||| "; "\n" in the texts stands for a newline.
MUTANTS=$(cat <<'EOF'
expect-count-always-ok ||| test(/assertions::/) ||| return r.found.length === as.count ? { ok: true } : ||| return true ? { ok: true } :
expect-has-text-always-ok ||| test(/assertions::/) ||| return matcher(as.has_text)(t) ? { ok: true } : ||| return true ? { ok: true } :
expect-url-always-ok ||| test(/assertions::/) ||| return ok ? { ok: true } : { ok: false, reason: "the URL is " ||| return true ? { ok: true } : { ok: false, reason: "the URL is "
expect-title-always-ok ||| test(/assertions::/) ||| return matcher(as.title)(document.title) ? { ok: true } : ||| return true ? { ok: true } :
expect-hidden-always-ok ||| test(/assertions::/) ||| return vis.length ? { ok: false, reason: "expected hidden, but visible: " ||| return false ? { ok: false, reason: "expected hidden, but visible: "
expect-visible-not-checked ||| test(/assertions::/) ||| if (!isVisible(el)) return { ok: false, reason: "found but hidden: " + describe(el) };\n    if (as.has_text) { ||| if (as.has_text) {
wait-hidden-always-ok ||| test(/assertions::/) ||| case "hidden": return vis.length ? ||| case "hidden": return false ?
wait-detached-always-ok ||| test(/assertions::/) ||| case "detached": return r.found.length ? ||| case "detached": return false ?
role-nav-missing ||| test(/runner_names_and_roles_agree_with_chromium/) ||| case "nav": return "navigation"; ||| case "nav": return null;
role-checkbox-null ||| test(/runner_names_and_roles_agree_with_chromium/) ||| if (type === "checkbox") return "checkbox"; ||| if (type === "checkbox") return null;
role-textbox-null ||| test(/runner_names_and_roles_agree_with_chromium/) ||| return el.hasAttribute("list") ? "combobox" : "textbox"; ||| return el.hasAttribute("list") ? "combobox" : null;
role-list-null ||| test(/runner_names_and_roles_agree_with_chromium/) ||| case "ul": case "ol": case "menu": return "list"; ||| case "ul": case "ol": case "menu": return null;
role-row-null ||| test(/runner_names_and_roles_agree_with_chromium/) ||| case "tr": return "row"; ||| case "tr": return null;
role-img-null ||| test(/runner_names_and_roles_agree_with_chromium/) ||| case "img": return el.getAttribute("alt") === "" ? "presentation" : "img"; ||| case "img": return null;
hit-always-lands ||| test(/each_ambiguity_fails_naming_what_was_found/) ||| s.result = reaches(el, target) ? "landed" : "missed"; ||| s.result = "landed";
hit-miss-not-blocked ||| test(/each_ambiguity_fails_naming_what_was_found/) ||| if (s.result === "missed") { ev.preventDefault(); ev.stopImmediatePropagation(); } ||| if (false) { ev.preventDefault(); ev.stopImmediatePropagation(); }
EOF
)

if [[ "${1:-}" == "--list" ]]; then
  cut -d'|' -f1 <<<"$MUTANTS" | sed 's/ *$//'
  exit 0
fi

backup=$(mktemp)
cp "$PAGE" "$backup"
restore() { cp "$backup" "$PAGE"; rm -f "$backup"; }
trap restore EXIT
trap 'exit 130' INT TERM

log_dir=$(mktemp -d)
caught=0
survived=()
total=0
while IFS= read -r line; do
  [[ -z "$line" ]] && continue
  name=${line%% ||| *}; rest=${line#* ||| }
  filter=${rest%% ||| *}; rest=${rest#* ||| }
  from=${rest%% ||| *}; to=${rest#* ||| }
  if [[ $# -gt 0 ]] && [[ " $* " != *" $name "* ]]; then continue; fi
  total=$((total + 1))
  cp "$backup" "$PAGE"
  # Exact, single replacement; a mutant whose text is gone (page.js changed) is an error, not a
  # silent pass.
  FROM="$from" TO="$to" python3 - "$PAGE" <<'PY'
import os, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
old = os.environ["FROM"].replace("\\n", "\n")
new = os.environ["TO"].replace("\\n", "\n")
n = text.count(old)
if n != 1:
    sys.exit(f"the mutant's text occurs {n} times in {path} (expected once): {old!r}")
open(path, "w", encoding="utf-8").write(text.replace(old, new, 1))
PY
  log="$log_dir/$name.log"
  printf '%-28s ' "$name"
  # Only the runner's integration tests: the binary they run and the library they load are
  # what page.js is compiled into.
  if cargo nextest run --release -p flows --test integration --no-fail-fast -E "$filter" >"$log" 2>&1; then
    echo "SURVIVED ($filter passed; log: $log)"
    survived+=("$name")
  elif grep -q "error\[E\|error: could not compile" "$log"; then
    echo "BUILD FAILED (log: $log)"
    exit 2
  else
    failing=$(grep -E '^\s+FAIL \[' "$log" | sed -E 's/.*\) //' | sort -u | tr '\n' ' ')
    echo "caught by: $failing"
    caught=$((caught + 1))
  fi
done <<<"$MUTANTS"
cp "$backup" "$PAGE"
echo "page.js mutants: $caught of $total caught$([[ ${#survived[@]} -gt 0 ]] && echo "; survived: ${survived[*]}")"
[[ ${#survived[@]} -eq 0 ]]
