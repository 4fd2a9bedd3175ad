#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) one after the other, SECONDS each (default 600),
# and prints one summary line per target: executions, exec/s, corpus size, crash artifacts.
#   fuzz/run.sh [--seconds N] [--no-build] [TARGET...]
# Builds all targets once, then runs the built binaries directly, so a codec edit made while
# the runs go on does not trigger a rebuild between targets.
# Environment: CARGO_TARGET_DIR (default fuzz/target), SANITIZER (default none; `address` for ASan).
# Logs: fuzz/logs/<target>.log. Crash inputs: fuzz/artifacts/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=600 build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) break ;;
  esac
done
export RUSTC_BOOTSTRAP=1
sanitizer="${SANITIZER:-none}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
if [ "$build" = 1 ]; then cargo fuzz build -O -s "$sanitizer" || exit 1; fi
bin_dir="${CARGO_TARGET_DIR:-fuzz/target}/$(rustc -vV | awk '/^host:/{print $2}')/release"
mkdir -p fuzz/logs
status=0
for t in "${targets[@]}"; do
  case "$t" in
    expr_parse) max_len=4096 ;;
    *) max_len=262144 ;;
  esac
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  start=$(date -u +%H:%M:%S)
  "$bin_dir/$t" "fuzz/corpus/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$seconds" \
      -max_len="$max_len" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 > "fuzz/logs/$t.log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "fuzz/logs/$t.log")
  rate=$(awk '/stat::average_exec_per_sec/{print $2}' "fuzz/logs/$t.log")
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  crashes=$(ls "fuzz/artifacts/$t" | wc -l)
  echo "$t: start ${start} UTC, ${seconds} s, rc=$rc, executions=${execs:-?}, exec/s=${rate:-?}, corpus=$corpus, artifacts=$crashes"
  [ "$rc" -eq 0 ] || status=1
done
exit $status
