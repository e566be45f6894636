#!/usr/bin/env bash
# scale.sh DIR - the scale benchmarks (bench_scale_test.go, BenchmarkScale) on the stores
# DIR/sN that bench/nstore made (make bench-stores), in ROUNDS rounds of one `-count 1` pass
# each: every round measures every operation at every size, so the sizes of one operation are
# measured close together and a slow minute of the machine hits one round, not one size.
# OUT/summary.md has the median per operation and size over the rounds and the growth from
# the smallest size to the largest (bench/chart -gobench); OUT/bench.txt the raw output.
#
#   ROUNDS=5  IMAGE_BENCH_SIZES="500 2000 5000"  BENCH=Scale (a -test.bench pattern)
#   OUT=DIR/scale-<date>  BENCHTIME=1s (-test.benchtime of the read-only operations)
set -euo pipefail
DIR=$(cd "${1:?usage: scale.sh DIR}" && pwd)
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-5}
BENCH=${BENCH:-Scale}
BENCHTIME=${BENCHTIME:-1s}
SIZES=${IMAGE_BENCH_SIZES:-500 2000 5000}
OUT=${OUT:-$DIR/scale-$(date +%Y%m%d-%H%M%S)}
GO=${GO:-go}
CHART=$HERE/bin/bench/chart
[[ -x $CHART ]] || { echo "missing $CHART: run make bench-tools" >&2; exit 1; }
mkdir -p "$OUT"
(cd "$HERE" && $GO test -c -o "$OUT/image.test" -tags "containers_image_openpgp exclude_graphdriver_btrfs" .)
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "go: $($GO version)"
  echo "image: $(cd "$HERE" && git describe --always --dirty 2>/dev/null || echo unknown)"
  echo "sizes: $SIZES; rounds: $ROUNDS; bench: $BENCH; benchtime: $BENCHTIME"
} | tee "$OUT/machine.txt"
: > "$OUT/bench.txt"
for r in $(seq 1 "$ROUNDS"); do
  echo "[$(date +%H:%M:%S)] round $r" >&2
  # the test binary runs in the package's directory, as go test runs it
  (cd "$HERE" && IMAGE_BENCH_DIR=$DIR IMAGE_BENCH_SIZES=$SIZES "$OUT/image.test" -test.run '^$' \
    -test.bench "$BENCH" -test.benchmem -test.benchtime "$BENCHTIME" -test.count 1 -test.timeout 0) |
    tee -a "$OUT/bench.txt" | grep --line-buffered '^Benchmark' >&2
done
"$CHART" -gobench "$OUT/bench.txt" -md "$OUT/summary.md"
cat "$OUT/summary.md"
echo "results: $OUT"
