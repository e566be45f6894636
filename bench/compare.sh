#!/usr/bin/env bash
# compare.sh DIR - imagectl next to podman 4.3 and the floor program (bench/nstore/floor: open
# the store, list images and layers, nothing else) on the stores DIR/sN that bench/nstore made
# (make bench-stores), in one run: every (N, operation, tool) is one hyperfine run per round,
# and the rounds go N -> operation -> tool, so the tools alternate (A B A B) and a slow minute
# of the machine hits all of them. Medians per (N, operation, tool) and ratios are in
# OUT/summary.md, the chart in OUT/chart.svg (bench/chart).
#
#   ROUNDS=5             runs per (N, operation, tool); one whose first run took more than
#   CAP_S=120            CAP_S seconds gets 2 runs only
#   IMAGE_BENCH_SIZES="500 2000 5000"
#   OPS="images images-a tree history history-deep rm prune100 prune1000"
#   TOOLS="floor imagectl podman"
#   OUT=DIR/compare-<date>
#   IMAGECTL=bin/imagectl  the binary measured
#
# Operations (the floor program runs once per N and round, as "floor"):
#   images, images-a      `images`, `images -a`
#   tree                  `image tree localhost/chain-top:latest` (52 layers)
#   history, history-deep `history` of localhost/chain-top:latest (52 entries) and of
#                         localhost/deep:latest (100 layers)
#   rm                    `rm`/`rmi localhost/chain-top:latest`: the tagged image and its 50
#                         untagged ancestors go
#   prune100, prune1000   `prune`/`image prune -f` of the dangling images among the first 250
#                         (2,500) app images: 100 (1,000) images; prune1000 only for N >= 2,500
# rm and prune run on a copy of the store (bench/clone.sh: nstore -clone, hard links, then
# podman opens the copy once to make its database) made by hyperfine's --prepare, outside
# the timing. podman runs with its own storage.conf, containers.conf,
# registries.conf, policy and tmp dirs under OUT/podman, --root/--runroot/--storage-driver vfs
# on the generated store and no events: it never sees the system's store.
set -euo pipefail
DIR=$(cd "${1:?usage: compare.sh DIR}" && pwd)
HERE=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${IMAGE_BENCH_SIZES:-500 2000 5000}
SIZES=${SIZES//,/ }
ROUNDS=${ROUNDS:-5}
CAP_S=${CAP_S:-120}
OPS=${OPS:-images images-a tree history history-deep rm prune100 prune1000}
TOOLS=${TOOLS:-floor imagectl podman}
OUT=${OUT:-$DIR/compare-$(date +%Y%m%d-%H%M%S)}
IMAGECTL=${IMAGECTL:-$HERE/bin/imagectl}
NSTORE=$HERE/bin/bench/nstore
FLOOR=$HERE/bin/bench/floor
CHART=$HERE/bin/bench/chart
for b in "$IMAGECTL" "$NSTORE" "$FLOOR" "$CHART"; do
  [[ -x $b ]] || { echo "missing $b: run make bench-tools" >&2; exit 1; }
done
for t in hyperfine jq podman; do
  command -v "$t" >/dev/null || { echo "compare.sh needs $t" >&2; exit 1; }
done
mkdir -p "$OUT"/{runs,out,podman/{tmp,libpod-tmp,runroot,storage}}
CLONE=$DIR/.clone # next to the stores: same file system, same directory

# podman's private configuration: nothing of the system's is read or written.
P=$OUT/podman
cat > "$P/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$P/runroot"
graphroot = "$P/storage"
EOF
cat > "$P/containers.conf" <<EOF
[engine]
tmp_dir = "$P/libpod-tmp"
events_logger = "none"
image_copy_tmp_dir = "$P/tmp"
EOF
printf 'unqualified-search-registries = []\n' > "$P/registries.conf"
printf '{"default": [{"type": "insecureAcceptAnything"}]}\n' > "$P/policy.json"
export CONTAINERS_STORAGE_CONF=$P/storage.conf CONTAINERS_CONF=$P/containers.conf
export CONTAINERS_REGISTRIES_CONF=$P/registries.conf TMPDIR=$P/tmp

# podman's global flags on the copy of rm and prune (clone.sh opens it once with them)
PFLAGS="--root $CLONE/root --runroot $CLONE/run --storage-driver vfs --tmpdir $P/libpod-tmp --events-backend none"

imagectl_has() { "$IMAGECTL" "$1" --help >/dev/null 2>&1; }
HAVE_RM=0; imagectl_has rm && HAVE_RM=1
HAVE_PRUNE=0; imagectl_has prune && HAVE_PRUNE=1

# until filter selecting the first $1 app images (app image i was created 2024-01-01 + (i+1) min)
until_apps() { date -u -d "2024-01-01T00:00:30Z + $1 minutes" +%Y-%m-%dT%H:%M:%SZ; }

# cmdline TOOL OP N: the command (empty: not measured), with the store it works on
cmdline() {
  local tool=$1 op=$2 n=$3 r=$DIR/s$3
  case $op in rm|prune*) r=$CLONE ;; esac
  local ic="$IMAGECTL --root $r/root --runroot $r/run --storage-driver vfs"
  local pc="podman --root $r/root --runroot $r/run --storage-driver vfs --tmpdir $P/libpod-tmp --events-backend none"
  case $tool/$op in
    floor/floor) echo "$FLOOR $r" ;;
    floor/*) ;;
    */floor) ;;
    imagectl/images) echo "$ic images" ;;
    podman/images) echo "$pc images" ;;
    imagectl/images-a) echo "$ic images -a" ;;
    podman/images-a) echo "$pc images -a" ;;
    imagectl/tree) echo "$ic tree localhost/chain-top:latest" ;;
    podman/tree) echo "$pc image tree localhost/chain-top:latest" ;;
    imagectl/history) echo "$ic history localhost/chain-top:latest" ;;
    podman/history) echo "$pc history localhost/chain-top:latest" ;;
    imagectl/history-deep) echo "$ic history localhost/deep:latest" ;;
    podman/history-deep) echo "$pc history localhost/deep:latest" ;;
    imagectl/rm) (( HAVE_RM )) && echo "$ic rm localhost/chain-top:latest" ;;
    podman/rm) echo "$pc rmi localhost/chain-top:latest" ;;
    imagectl/prune100) (( HAVE_PRUNE )) && echo "$ic prune --force --filter until=$(until_apps 250)" ;;
    podman/prune100) echo "$pc image prune -f --filter until=$(until_apps 250)" ;;
    imagectl/prune1000) (( n >= 2500 && HAVE_PRUNE )) && echo "$ic prune --force --filter until=$(until_apps 2500)" ;;
    podman/prune1000) (( n >= 2500 )) && echo "$pc image prune -f --filter until=$(until_apps 2500)" ;;
  esac
  return 0
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "cpu: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "fs: $(df -T "$DIR" | awk 'NR==2 {print $2}') under $DIR"
  echo "podman: $(podman --version)"
  echo "hyperfine: $(hyperfine --version)"
  echo "imagectl: $(cd "$HERE" && git describe --always --dirty 2>/dev/null || echo unknown)"
  echo "imagectl rm: $HAVE_RM, imagectl prune: $HAVE_PRUNE"
  echo "sizes: $SIZES; rounds: $ROUNDS (2 when the first run took > ${CAP_S}s); ops: $OPS"
  for n in $SIZES; do echo "store s$n: $(tr -d ' \n' < "$DIR/s$n/nstore.json")"; done
} | tee "$OUT/machine.txt"

# One untimed warm-up per store (page cache, podman's database): cheap commands only.
for n in $SIZES; do
  $FLOOR "$DIR/s$n" >/dev/null
  $(cmdline imagectl history "$n") >/dev/null
  $(cmdline podman history "$n") >/dev/null
done

TSV=$OUT/runs.tsv
printf 'round\tN\top\ttool\twall_s\tuser_s\tsys_s\texit\tcommand\n' > "$TSV"
declare -A first
for r in $(seq 1 "$ROUNDS"); do
  for n in $SIZES; do
    for op in floor $OPS; do
      for tool in $TOOLS; do
        cl=$(cmdline "$tool" "$op" "$n")
        [[ -n $cl ]] || continue
        k=$n/$op/$tool
        if [[ -n ${first[$k]:-} ]] && (( r > 2 )) && awk -v w="${first[$k]}" -v c="$CAP_S" 'BEGIN {exit !(w > c)}'; then
          continue
        fi
        prep=()
        case $op in rm|prune*) prep=(--prepare "$HERE/bench/clone.sh $NSTORE $DIR/s$n $CLONE $PFLAGS") ;; esac
        j=$OUT/runs/r$r-$n-$op-$tool.json
        hyperfine -N -i --style none --runs 1 "${prep[@]}" --output "$OUT/out/$n-$op-$tool.r$r.txt" \
          --export-json "$j" -n "$k" "$cl" >/dev/null 2>"$OUT/runs/r$r-$n-$op-$tool.err" || true
        if [[ -s $j ]]; then
          line=$(jq -r --arg r "$r" --arg n "$n" --arg op "$op" --arg tool "$tool" --arg cl "$cl" \
            '.results[0] | [$r, $n, $op, $tool, (.times[0]|tostring), (.user|tostring), (.system|tostring), (.exit_codes[0]|tostring), $cl] | @tsv' "$j")
        else
          line=$(printf '%s\t%s\t%s\t%s\t\t\t\tfailed\t%s' "$r" "$n" "$op" "$tool" "$cl")
        fi
        printf '%s\n' "$line" >> "$TSV"
        w=$(cut -f5 <<<"$line")
        [[ -z ${first[$k]:-} ]] && first[$k]=${w:-0}
        printf '[%s] round %s  N=%-5s %-13s %-9s %8s s  exit %s\n' "$(date +%H:%M:%S)" "$r" "$n" "$op" "$tool" "${w:--}" "$(cut -f8 <<<"$line")"
      done
    done
  done
done
rm -rf "$CLONE"
"$CHART" -runs "$TSV" -svg "$OUT/chart.svg" -md "$OUT/summary.md"
cat "$OUT/summary.md"
echo "results: $OUT"
