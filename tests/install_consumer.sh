#!/usr/bin/env bash
# cmake --install, then examples/translator, a project of its own, built with
# find_package(attnzoo) against the installed tree: it must configure, build,
# find libattnzoo_spm.so through attnzooConfig.cmake's RPATH, and learn.
# usage: install_consumer.sh BUILD_DIR SOURCE_DIR GENERATOR CXX_COMPILER
set -euo pipefail
build=$1 source=$2 generator=$3 cxx=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$source/tests/cli_lib.sh"

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/attnzoo/models/seq2seq.h include/attnzoo/version.h lib/libattnzoo_models.a \
  lib/libattnzoo_spm.so lib/cmake/attnzoo/attnzooConfig.cmake lib/cmake/attnzoo/attnzooTargets.cmake \
  bin/translate bin/zoo-serve; do
  if [ -e "$prefix/$f" ]; then pass "installed $f"; else fail "not installed: $f"; fi
done
if "$prefix/bin/translate" --help | grep -q "train"; then pass "installed translate --help"; else
  fail "installed translate --help"; fi

# The consumer sees the installed tree only: a copy of it, away from the
# source and build folders, must build with neither on its paths.
cp -r "$source/examples/translator" "$work/src"
cmake -S "$work/src" -B "$work/example" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "find_package(attnzoo) configure"; finish; }
if grep -q -- "$source\|$build" "$work/example/CMakeCache.txt" "$work/example/build.ninja" 2>/dev/null; then
  fail "the example's build refers to the source or build folder"
else pass "the example's build names the installed tree only"; fi
cmake --build "$work/example" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "example build"; finish; }
pass "example built against attnzoo::models"
if readelf -d "$work/example/dates_translator" | grep -q "PATH.*$prefix/lib"; then
  pass "the example's RPATH holds $prefix/lib"
else fail "the example's RPATH lacks $prefix/lib: $(readelf -d "$work/example/dates_translator" | grep PATH)"; fi

# Its mistakes are one line each, never an abort (expect_error needs errexit off).
set +e
expect_error "example: --tokenizer foo" "--tokenizer: expected char, word, bpe or unigram, not foo" \
  "$work/example/dates_translator" --tokenizer foo
expect_error "example: --steps x" "--steps: expected a whole number >= 1, not x" \
  "$work/example/dates_translator" --steps x
expect_error "example: --seed" "--seed needs a value" "$work/example/dates_translator" --seed
set -e

# Installed headers a program includes first compile on their own.
mkdir -p "$work/headers"
headers=(export/export.h models/seq2seq.h models/search.h tasks/translator.h train/loop.h train/curves.h)
for h in "${headers[@]}"; do printf '#include <attnzoo/%s>\n' "$h" >"$work/headers/$(tr / _ <<<"$h").cpp"; done
cat >"$work/headers/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(attnzoo_headers LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(attnzoo 0.1 REQUIRED)
file(GLOB sources *.cpp)
add_library(headers OBJECT ${sources})
target_link_libraries(headers PRIVATE attnzoo::export)
CMAKE
if cmake -S "$work/headers" -B "$work/headers-build" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/headers.log" 2>&1 &&
  cmake --build "$work/headers-build" -j 2 >>"$work/headers.log" 2>&1; then
  pass "installed headers compile on their own: ${headers[*]}"
else
  fail "an installed header does not compile on its own: $(grep -m3 error "$work/headers.log")"
fi

# A few hundred steps of the dates translator through the public headers: the
# loss of the last 20 steps at most a fifth of the first 20's (seeds 1-5 and
# every numeric path end below a twentieth).
out=$("$work/example/dates_translator" --steps 200 --seed 1)
echo "$out"
read -r first last < <(sed -n 's/.*loss first \([0-9.]*\) *last \([0-9.]*\).*/\1 \2/p' <<<"$out")
if [ -n "$first" ] && awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < 0.2 * f) }'; then
  pass "the example learns: loss $first -> $last"
else fail "the example does not learn: loss $first -> $last"; fi
right=$(grep -c -- '-> \(.*\) (reference \1)$' <<<"$out" || true)
if [ "$right" -ge 2 ]; then pass "the example translates $right of 3 held-out dates"; else
  fail "the example translates $right of 3 held-out dates"; fi
finish
