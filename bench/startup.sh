#!/usr/bin/env bash
# startup.sh DIR BEFORE AFTER - two imagectl binaries next to the floor program on the stores
# DIR/sN that bench/nstore made (make bench-stores): the read-only commands (images,
# images -a, tree and history of localhost/chain-top:latest, history of localhost/deep:latest)
# in rounds; per round, store and command, one `hyperfine -N -w 2 -r 10` per binary, in
# alternating order (floor, before, after; then reversed). Prints a Markdown table: medians
# of the round medians, and the medians of the per-round ratios.
#
#   ROUNDS=5 IMAGE_BENCH_SIZES="500 2000 5000" OUT=DIR/startup-DATE
#   e.g. bench/startup.sh /work/scratch/bench /tmp/imagectl-067f4ed bin/imagectl
set -euo pipefail
DIR=$(cd "${1:?usage: startup.sh DIR BEFORE AFTER}" && pwd)
BEFORE=$(realpath "${2:?}") AFTER=$(realpath "${3:?}")
HERE=$(cd "$(dirname "$0")/.." && pwd)
FLOOR=$HERE/bin/bench/floor
[[ -x $FLOOR ]] || { echo "missing $FLOOR: run make bench-tools" >&2; exit 1; }
for t in hyperfine jq python3; do command -v $t >/dev/null || { echo "startup.sh needs $t" >&2; exit 1; }; done
ROUNDS=${ROUNDS:-5}
SIZES=${IMAGE_BENCH_SIZES:-500 2000 5000}
OUT=${OUT:-$DIR/startup-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
TSV=$OUT/runs.tsv
printf 'round\tN\top\ttool\tmedian_s\n' > "$TSV"
for r in $(seq "$ROUNDS"); do
  for n in ${SIZES//,/ }; do
    S=$DIR/s$n
    for op in floor images images-a tree history history-deep; do
      if (( r % 2 )); then tools="floor before after"; else tools="after before floor"; fi
      for t in $tools; do
        bin=$BEFORE; [[ $t == after ]] && bin=$AFTER
        ic="$bin --root $S/root --runroot $S/run --storage-driver vfs"
        case $t/$op in
          floor/floor) cl="$FLOOR $S" ;;
          floor/*|*/floor) continue ;;
          */images) cl="$ic images" ;;
          */images-a) cl="$ic images -a" ;;
          */tree) cl="$ic tree localhost/chain-top:latest" ;;
          */history) cl="$ic history localhost/chain-top:latest" ;;
          */history-deep) cl="$ic history localhost/deep:latest" ;;
        esac
        hyperfine -N -w 2 -r 10 --export-json "$OUT/last.json" "$cl" >/dev/null 2>&1
        printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$n" "$op" "$t" "$(jq '.results[0].median' "$OUT/last.json")" >> "$TSV"
      done
    done
  done
done
python3 - "$TSV" <<'PY' | tee "$OUT/summary.md"
import csv, statistics as st, sys, collections
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
runs = collections.defaultdict(list)
rnd = collections.defaultdict(dict)
for r in rows:
    runs[(int(r['N']), r['op'], r['tool'])].append(float(r['median_s']))
    rnd[(int(r['N']), r['round'])][(r['op'], r['tool'])] = float(r['median_s'])
print("| N | operation | floor | before | after | before ÷ floor | after ÷ floor | after ÷ before |")
print("|---|---|---|---|---|---|---|---|")
for n in sorted({k[0] for k in runs}):
    fl = st.median(runs[(n, 'floor', 'floor')])
    rounds = [v for (m, _), v in rnd.items() if m == n]
    for op in ('images', 'images-a', 'tree', 'history', 'history-deep'):
        b, a = st.median(runs[(n, op, 'before')]), st.median(runs[(n, op, 'after')])
        bf = st.median(x[(op, 'before')] / x[('floor', 'floor')] for x in rounds)
        af = st.median(x[(op, 'after')] / x[('floor', 'floor')] for x in rounds)
        ab = st.median(x[(op, 'after')] / x[(op, 'before')] for x in rounds)
        print(f"| {n} | {op} | {fl*1000:.1f} ms | {b*1000:.1f} ms | {a*1000:.1f} ms | {bf:.2f}× | {af:.2f}× | {ab:.2f}× |")
PY
