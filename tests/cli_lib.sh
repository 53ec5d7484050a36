# Shared by the CLI error tests (sourced): pass/fail counters and expect_error.
failures=0
passes=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
pass() { echo "ok   $*"; passes=$((passes + 1)); }

# expect_error DESCRIPTION EXPECTED_TEXT COMMAND... (stdin passes through): the
# command exits non-zero without a crash, its last line (CLI11's "Run with
# --help" aside; a training's progress lines may come before it) says
# EXPECTED_TEXT, and no other line is an error.
expect_error() {
  local what="$1" expected="$2"
  shift 2
  local out rc last
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then fail "$what: exit code $rc: $out"; return; fi
  if grep -q "terminate called\|internal error\|frame #" <<<"$out"; then fail "$what: a crash: $out"; return; fi
  last=$(grep -v "^Run with --help for more information.$" <<<"$out" | tail -n 1)
  if ! grep -qF -- "$expected" <<<"$last"; then fail "$what: the last line lacks '$expected': $out"; return; fi
  if [ "$(grep -c "error" <<<"$out")" -gt 1 ]; then fail "$what: more than one error line: $out"; return; fi
  pass "$what"
}

# finish: the summary line, and the exit status
finish() {
  echo "$passes passed, $failures failed"
  [ "$failures" -eq 0 ]
}
