#!/usr/bin/env bash
# load-save.sh: imagectl next to podman 4.3 and the floor for load, save and import of big100
# (busybox plus three layers: 48 MiB incompressible, 32 MiB text, 4,000 small files; built
# by ../shared/bench/common.sh), on the same machine, same driver (vfs), same directory, runs
# interleaved (the order of the tools alternates from one round to the next), medians of
# $RUNS, wall time and peak memory (max RSS of the largest process, /usr/bin/time %M).
#
#   bench/load-save.sh        (needs podman, buildah, busybox-static, jq, openssl, GNU time)
#   RUNS=5 SCRATCH=/work/scratch/bench SHARED_BENCH=../shared/bench OUT=$SCRATCH/load-save-DATE
#   OPS="load-docker-archive load-oci-archive save-docker-archive save-oci-archive import"
#       (the saves read the image the oci-archive load leaves: keep that load before them)
#   BEFORE=PATH  another imagectl binary (an earlier build) run as tool "before" for the loads
#       and import, on a store of its own; OUT/ratios.md then gives per-round ratios
#
# Floors (bench/floor-vfs.sh; their output dir is removed outside the timing):
#   load:   one SHA-256 pass per layer of the docker-archive, each layer laid out as vfs does
#           it (a copy of the parent's dir plus the layer's entries)
#   import: one SHA-256 pass over the rootfs tarball and its entries laid out once
# and, as "floor-rm", ../shared/bench/floor-big100-vfs.sh: the load floor that the issue's
# "podman load took 1.09x the floor" was measured against; it times its own rm -rf as well.
# Writes OUT/runs.tsv (round, op, tool, wall_s, maxrss_kib, exit) and OUT/summary.md (medians,
# ratios); big100 is built once and cached in $SCRATCH/peers/images.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
SHARED=${SHARED_BENCH:-$repo/../shared/bench}
[[ -d $SHARED ]] || SHARED=/work/shared/bench
RUNS=${RUNS:-5}
OPS=${OPS:-load-docker-archive load-oci-archive save-docker-archive save-oci-archive import}
SCRATCH=${SCRATCH:-/var/tmp}
OUT=${OUT:-$SCRATCH/load-save-$(date +%Y%m%d-%H%M%S)}
export TMPDIR=$SCRATCH
. "$SHARED/common.sh"
peers_reexec_in_mount_ns "$@"
peers_setup
ensure_big_archive
IMAGECTL=$repo/bin/imagectl
FLOOR=$here/floor-vfs.sh
[[ -x $IMAGECTL ]] || { echo "build imagectl first: make build" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "load-save.sh needs GNU time (apt-get install time)" >&2; exit 1; }
DA=$PEERS_IMAGES/big100.docker.tar
OA=$PEERS_IMAGES/big100.oci.tar
IMG=localhost/big100:latest
W=$PEERS_ROOT/work
OURS=$PEERS_ROOT/ours
mkdir -p "$OUT"
# imagectl on its own store next to podman's (an array: GNU time runs it)
IC=("$IMAGECTL" --root "$OURS/root" --runroot "$OURS/run" --storage-driver vfs
  --signature-policy "$POLICY" --registries-conf "$PEERS_ROOT/registries.conf")
# A 100 MB rootfs tarball for import: big100's layers applied in order, tarred.
mkdir -p "$W/layers" "$W/rootfs"
tar -xf "$DA" -C "$W/layers"
mapfile -t LAYERS < <(jq -r '.[0].Layers[] | "'"$W/layers"'/" + .' "$W/layers/manifest.json")
for l in "${LAYERS[@]}"; do tar -xf "$l" -C "$W/rootfs"; done
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
rm -rf "$W/rootfs"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "fs: $(df -T "$PEERS_ROOT" | awk 'NR==2 {print $2}') under $PEERS_ROOT"
  echo "podman: $(podman --version)"
  echo "imagectl: $(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown)"
  echo "inputs: $(stat -c '%n %s' "$DA" "$OA" "$W/rootfs.tar" | tr '\n' ';')"
  echo "runs: $RUNS"
} | tee "$OUT/machine.txt"
cat "$DA" "$OA" "$W/rootfs.tar" "${LAYERS[@]}" >/dev/null # page cache warm for every candidate

TSV=$OUT/runs.tsv
printf 'round\top\ttool\twall_s\tmaxrss_kib\texit\n' > "$TSV"
# timed ROUND OP TOOL CMD...: run CMD once under GNU time, append a row to runs.tsv.
timed() {
  local r=$1 op=$2 tool=$3 rc=0
  shift 3
  sync
  /usr/bin/time -f '%e %M' -o "$W/time.out" "$@" >/dev/null 2>"$W/last.err" || rc=$?
  read -r wall rss < <(tail -1 "$W/time.out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$op" "$tool" "$wall" "$rss" "$rc" >> "$TSV"
  log "round $r  $op  $tool  ${wall}s  $((rss / 1024)) MiB  exit $rc"
  if (( rc != 0 )); then cat "$W/last.err" >&2; fi
}
fresh_podman() { podman rmi -a -f >/dev/null 2>&1 || true; }
fresh_ours() { rm -rf "$OURS"; }
BEFORE=${BEFORE:+$(realpath "$BEFORE")}
IB=("$BEFORE" --root "$PEERS_ROOT/before/root" --runroot "$PEERS_ROOT/before/run" --storage-driver vfs
  --signature-policy "$POLICY" --registries-conf "$PEERS_ROOT/registries.conf")
fresh_before() { rm -rf "$PEERS_ROOT/before"; }
floor_dir=$W/floor
# one (op, tool) run with its untimed set-up
run() {
  local r=$1 op=$2 tool=$3
  case $tool/$op in
    podman/load-docker-archive) fresh_podman; timed "$r" "$op" podman podman load -q -i "$DA" ;;
    imagectl/load-docker-archive) fresh_ours; timed "$r" "$op" imagectl "${IC[@]}" load -q -i "$DA" ;;
    floor/load-docker-archive) rm -rf "$floor_dir"; timed "$r" "$op" floor "$FLOOR" "$floor_dir" "${LAYERS[@]}"; rm -rf "$floor_dir" ;;
    floor-rm/load-docker-archive) timed "$r" "$op" floor-rm "$SHARED/floor-big100-vfs.sh" "$W/layers" "$W" ;;
    podman/load-oci-archive) fresh_podman; timed "$r" "$op" podman podman load -q -i "$OA" ;;
    imagectl/load-oci-archive) fresh_ours; timed "$r" "$op" imagectl "${IC[@]}" load -q -i "$OA" ;;
    podman/save-docker-archive) rm -f "$W/out.p"; timed "$r" "$op" podman podman save --format docker-archive -o "$W/out.p" "$IMG"; rm -f "$W/out.p" ;;
    imagectl/save-docker-archive) rm -f "$W/out.i"; timed "$r" "$op" imagectl "${IC[@]}" save --format docker-archive -o "$W/out.i" "$IMG"; rm -f "$W/out.i" ;;
    podman/save-oci-archive) rm -f "$W/out.p"; timed "$r" "$op" podman podman save --format oci-archive -o "$W/out.p" "$IMG"; rm -f "$W/out.p" ;;
    imagectl/save-oci-archive) rm -f "$W/out.i"; timed "$r" "$op" imagectl "${IC[@]}" save --format oci-archive -o "$W/out.i" "$IMG"; rm -f "$W/out.i" ;;
    podman/import) fresh_podman; timed "$r" "$op" podman podman import "$W/rootfs.tar" localhost/imported:1 ;;
    imagectl/import) fresh_ours; timed "$r" "$op" imagectl "${IC[@]}" import -q "$W/rootfs.tar" localhost/imported:1 ;;
    floor/import) rm -rf "$floor_dir"; timed "$r" "$op" floor "$FLOOR" "$floor_dir" "$W/rootfs.tar"; rm -rf "$floor_dir" ;;
    before/load-docker-archive) fresh_before; timed "$r" "$op" before "${IB[@]}" load -q -i "$DA" ;;
    before/load-oci-archive) fresh_before; timed "$r" "$op" before "${IB[@]}" load -q -i "$OA" ;;
    before/import) fresh_before; timed "$r" "$op" before "${IB[@]}" import -q "$W/rootfs.tar" localhost/imported:1 ;;
  esac
}

for r in $(seq "$RUNS"); do
  if (( r % 2 )); then tools="podman imagectl ${BEFORE:+before} floor floor-rm"; else tools="floor-rm floor ${BEFORE:+before} imagectl podman"; fi
  # the saves read the image that the oci-archive load left in each store
  for op in $OPS; do
    for t in $tools; do run "$r" "$op" "$t"; done
  done
done

# medians and ratios
awk -F'\t' -v runs="$RUNS" '
  NR == 1 || $6 != 0 { next }
  { k = $2 SUBSEP $3; n[k]++; w[k, n[k]] = $4; m[k, n[k]] = $5; ops[$2] = 1 }
  function med(a, k, c,   i, j, t, v) {
    for (i = 1; i <= c; i++) v[i] = a[k, i]
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return c % 2 ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
  }
  function cell(k) { return (k in n) ? sprintf("%.2f s (%d), %.0f MiB", med(w, k, n[k]), n[k], med(m, k, n[k]) / 1024) : "-" }
  function mw(k) { return (k in n) ? med(w, k, n[k]) : 0 }
  function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }
  END {
    print "| operation (big100, vfs) | podman 4.3: median (runs), peak RSS | imagectl | floor | imagectl/podman | imagectl/floor | podman/floor | imagectl/floor-rm | podman/floor-rm |"
    print "|---|---|---|---|---|---|---|---|---|"
    split("load-docker-archive load-oci-archive save-docker-archive save-oci-archive import", order, " ")
    for (i = 1; i <= 5; i++) {
      op = order[i]; f = (op == "import") ? "import" : (op ~ /^load/ ? "load-docker-archive" : "")
      p = mw(op SUBSEP "podman"); c = mw(op SUBSEP "imagectl"); fl = f == "" ? 0 : mw(f SUBSEP "floor"); fr = mw("load-docker-archive" SUBSEP "floor-rm")
      print "| " op " | " cell(op SUBSEP "podman") " | " cell(op SUBSEP "imagectl") " | " (f == "" ? "-" : cell(f SUBSEP "floor")) \
        " | " ratio(c, p) " | " ratio(c, fl) " | " ratio(p, fl) \
        " | " (op ~ /^load/ ? ratio(c, fr) " | " ratio(p, fr) : "- | -") " |"
    }
    print ""
    print "Medians of " runs " interleaved rounds; the floor of both loads is the one of the docker-archive layers;"
    print "floor-rm (load, shared floor-big100-vfs.sh, its rm -rf timed too): " cell("load-docker-archive" SUBSEP "floor-rm") "."
  }' "$TSV" | tee "$OUT/summary.md"
# per-round ratios (each pair measured minutes apart at most), medians over the rounds
python3 - "$TSV" <<'PY' | tee "$OUT/ratios.md"
import csv, statistics as st, sys, collections
t = collections.defaultdict(dict)
for r in csv.DictReader(open(sys.argv[1]), delimiter='\t'):
    if r['exit'] == '0':
        t[(r['op'], r['round'])][r['tool']] = float(r['wall_s'])
floor_of = lambda op: 'import' if op == 'import' else 'load-docker-archive'
pairs = [('imagectl', 'podman'), ('imagectl', 'floor'), ('podman', 'floor'), ('before', 'floor'), ('imagectl', 'before')]
print("| operation | " + " | ".join(f"{a} ÷ {b}" for a, b in pairs) + " |")
print("|---" * (len(pairs) + 1) + "|")
for op in sorted({k[0] for k in t}):
    cells = []
    for a, b in pairs:
        v = []
        for (o, rnd), row in t.items():
            if o != op:
                continue
            bv = t[(floor_of(op), rnd)].get('floor') if b == 'floor' else row.get(b)
            if a in row and bv:
                v.append(row[a] / bv)
        cells.append(f"{st.median(v):.2f} ({len(v)})" if v else "-")
    print(f"| {op} | " + " | ".join(cells) + " |")
PY
echo "results: $OUT"
