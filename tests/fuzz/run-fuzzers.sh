#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fuzzes every target of tests/fuzz/targets.txt for SECONDS each (default 30):
#   tests/fuzz/run-fuzzers.sh [SECONDS]
# Builds each with clang++-14 -fsanitize=fuzzer,address,undefined -g -O1 straight from the
# core sources (no GStreamer, no CMake) into a scratch folder, copies the seed corpus there
# (the repository is never written) and runs libFuzzer with -max_total_time. Exits 1 when a
# target crashes or breaks an invariant, printing the saved input's path; exits 0 with a
# message when clang++-14 is not installed.
# Environment: FUZZ_CXX (default clang++-14), FUZZ_WORK (scratch folder, default a new one
# under TMPDIR; kept, it holds the logs, grown corpora and crash inputs), FUZZ_TARGETS
# (space-separated names, default all), FUZZ_KEEP_GOING=1 (go on after a crash, in
# libFuzzer's fork mode, to collect every distinct crash within the time).
set -euo pipefail

seconds=${1:-30}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]   (a positive number of seconds per target, default 30)" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cxx=${FUZZ_CXX:-clang++-14}

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "run-fuzzers: $cxx is not installed - fuzzing skipped" \
    "(apt-get install clang-14 libclang-rt-14-dev)"
  exit 0
fi

work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/keepup-fuzz.XXXXXX")}
mkdir -p "$work"
flags=(-std=c++20 -g -O1 "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
while read -r -u 3 name rest; do
  [[ -z $name || $name == \#* ]] && continue
  if [[ -n ${FUZZ_TARGETS:-} && " $FUZZ_TARGETS " != *" $name "* ]]; then
    continue
  fi
  read -r -a tokens <<<"$rest"
  sources=("$here/${name}_fuzz.cpp")
  includes=(-I"$here")
  libs=()
  for token in "${tokens[@]}"; do
    case $token in
      pkg:*)
        read -r -a pkg_flags <<<"$(pkg-config --cflags --libs "${token#pkg:}")"
        libs+=("${pkg_flags[@]}")
        ;;
      inc:*) includes+=(-I"$root/${token#inc:}") ;;
      */)
        sources+=("$root/$token"*.cpp)
        includes+=(-I"$root/$token")
        ;;
      *)
        sources+=("$root/$token")
        includes+=(-I"$(dirname "$root/$token")")
        ;;
    esac
  done

  bin=$work/bin/${name}_fuzz
  rm -rf "$work/crashes/$name"
  mkdir -p "$work/bin" "$work/corpus" "$work/crashes/$name" "$work/logs"
  echo "== $name: building"
  if ! "$cxx" "${flags[@]}" "${includes[@]}" "${sources[@]}" "${libs[@]}" -o "$bin" \
    >"$work/logs/$name.build.log" 2>&1; then
    cat "$work/logs/$name.build.log" >&2
    echo "run-fuzzers: $name does not build (log: $work/logs/$name.build.log)" >&2
    failed+=("$name (build)")
    continue
  fi

  corpus=$work/corpus/$name
  rm -rf "$corpus"
  cp -r "$here/corpus/$name" "$corpus"
  extra=()
  if [[ ${FUZZ_KEEP_GOING:-0} == 1 ]]; then
    extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  fi
  dict=()
  if [[ -f $here/dict/$name.dict ]]; then
    dict=(-dict="$here/dict/$name.dict")
  fi
  log=$work/logs/$name.log
  echo "== $name: fuzzing for $seconds s"
  status=0
  # max_total_time bounds the fuzzing; timeout(1) also bounds a target that hangs in startup.
  timeout --kill-after=10 "$((seconds + 60))" "$bin" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/crashes/$name/" \
    "${dict[@]}" "${extra[@]}" "$corpus" >"$log" 2>&1 || status=$?
  crashes=("$work/crashes/$name"/*)
  [[ -e ${crashes[0]} ]] || crashes=()

  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9/]+[a-zA-Z]*' "$log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  [[ -n $execs ]] || execs=$(grep -Eo 'exec/s:? [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+$' || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [[ -n $runs ]] || runs=$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
  line="$name: runs ${runs:-?}, ${execs:-?} exec/s, ${cov:-no coverage line}"
  if ((status != 0 || ${#crashes[@]} > 0)); then
    echo "run-fuzzers: $name FAILED (exit $status)" >&2
    # What went wrong, then the stack frames in keepup's own code (the full log has the rest).
    grep -m 3 -E 'invariant broken|runtime error|Assertion|ERROR: AddressSanitizer|ERROR: LeakSanitizer|terminate called|what\(\)|ERROR: libFuzzer' \
      "$log" | cut -c 1-300 >&2 || true
    grep -E "^ +#[0-9]+ .* in .*$root/" "$log" | grep -v -E ' in (fuzzer::|main )' |
      head -n 12 | sed -E 's/ \(BuildId: [0-9a-f]+\)//' | cut -c 1-300 >&2 || true
    for input in "${crashes[@]}"; do
      echo "run-fuzzers: $name crash input: $input" >&2
      echo "run-fuzzers: reproduce with: $bin $input" >&2
    done
    ((${#crashes[@]})) || echo "run-fuzzers: $name saved no input" >&2
    echo "run-fuzzers: full log: $log" >&2
    failed+=("$name")
    summary+=("FAIL $line")
  else
    summary+=("ok   $line")
  fi
done 3<"$here/targets.txt"

echo
echo "fuzzing summary ($seconds s per target, scratch folder $work):"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "run-fuzzers: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run-fuzzers: no crash"
