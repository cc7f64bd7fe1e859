#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in a build directory of their own, then runs each one for a
# bounded time on a copy of its seed corpus (tests/fuzz/corpus/<name>/). Fails if any target finds a
# crash, a sanitizer report, a failed property, a leak or a timeout; the input is kept under
# BUILD_DIR/fuzz-artifacts/.
#
# Usage: tests/fuzz/run_fuzzers.sh [--seconds N] [--build-dir DIR] [--jobs N] [TARGET...]
#   --seconds N     time per target (default 30)
#   --build-dir DIR the clang build directory (default build-fuzz)
#   --jobs N        build parallelism, and how many targets run at once (each uses one core; default 2)
#   TARGET...       only these (e.g. fuzz_byte_range); default every tests/fuzz/fuzz_*.cpp
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=30
build_dir=build-fuzz
jobs=2
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run_fuzzers.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ "${#targets[@]}" -eq 0 ]; then
  for source in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi

cxx="${CXX:-$(command -v clang++-14 || command -v clang++ || true)}"
if [ -z "$cxx" ]; then
  echo "run_fuzzers.sh: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
cmake -S . -B "$build_dir" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHARELINK_FUZZ=ON \
      -DSHARELINK_BUILD_TESTS=OFF -DSHARELINK_WARNINGS_AS_ERRORS=ON > /dev/null
cmake --build "$build_dir" -j"$jobs" --target fuzzers

artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# One target: its table row in $work/$target.row, its exit status in $work/$target.status.
run_target() {
  local target=$1 binary="$build_dir/tests/fuzz/$1" seeds="tests/fuzz/corpus/${1#fuzz_}"
  local corpus="$work/$target" log="$build_dir/$target.log" status=0
  mkdir -p "$corpus"
  cp -r "$seeds/." "$corpus/"
  # New inputs go to the copy; the committed seeds stay as they are.
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$artifacts/$target-" "$corpus" > "$log" 2>&1 || status=$?
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  printf '%-24s %8s %12s %10s %8s %8s\n' "$target" "$seconds" "$(stat number_of_executed_units)" \
         "$(stat average_exec_per_sec)" "$(find "$corpus" -type f | wc -l)" "$(stat peak_rss_mb)" > "$work/$target.row"
  echo "$status" > "$work/$target.status"
}
for target in "${targets[@]}"; do
  [ -x "$build_dir/tests/fuzz/$target" ] || { echo "run_fuzzers.sh: no target $target" >&2; exit 2; }
  [ -d "tests/fuzz/corpus/${target#fuzz_}" ] || { echo "run_fuzzers.sh: no seed corpus tests/fuzz/corpus/${target#fuzz_}" >&2; exit 2; }
done
# At most $jobs targets at once.
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$target" &
done
wait
failed=()
printf '%-24s %8s %12s %10s %8s %8s\n' target seconds executions "exec/s" corpus "rss MB"
for target in "${targets[@]}"; do
  # (A target whose run broke off before writing its result counts as failed.)
  cat "$work/$target.row" 2>/dev/null || printf '%-24s (no result)\n' "$target"
  status=$(cat "$work/$target.status" 2>/dev/null || echo 1)
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    echo "--- $target failed (exit $status); the end of $build_dir/$target.log:" >&2
    tail -40 "$build_dir/$target.log" >&2
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "run_fuzzers.sh: failed: ${failed[*]} (inputs kept in $artifacts)" >&2
  exit 1
fi
echo "run_fuzzers.sh: ${#targets[@]} targets, ${seconds} s each, no failure"
