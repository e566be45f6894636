#!/usr/bin/env bash
# registry.sh: imagectl pull and push next to podman 4.3, skopeo 1.9 and the floor, through a
# distribution 2.8 registry (Debian's docker-registry) of its own on 127.0.0.1 (plain HTTP,
# filesystem storage), for big100 (busybox plus three layers: 48 MiB incompressible, 32 MiB
# text, 4,000 small files; built by ../shared/bench/common.sh) and busybox; vfs driver, every
# store, registry and cache under one directory, runs interleaved (the order of the tools
# rotates from one round to the next), one untimed warm-up round, medians of $RUNS, wall
# time, CPU time and peak memory (/usr/bin/time).
#
#   bench/registry.sh   (needs podman, buildah, skopeo, docker-registry, busybox-static, jq,
#                        openssl, curl, GNU time; run as root: it uses a private mount namespace)
#   RUNS=5 SCRATCH=/work/scratch/benchreg PEERS_PORT=5070 OUT=$SCRATCH/registry-DATE
#
# Operations:
#   pull-big100, pull-busybox  cold pull into an emptied store (and empty blob-info cache):
#       imagectl pull, podman pull, skopeo copy docker://... containers-storage:[vfs@...]...,
#       and the floor (bench/floorpull, built into bin/bench/floorpull: each blob fetched over
#       HTTP, hashed, gunzipped and laid out as vfs does, a copy of the parent layer's
#       directory plus the layer's entries, in one stream per layer, in one process)
#   push-gzip, push-zstd       first push of big100 to an empty registry (a second registry on
#       PORT+1, new storage every run) with every blob-info cache emptied: imagectl push,
#       podman push, skopeo copy containers-storage:... docker://... (gzip); imagectl and
#       podman with --compression-format zstd
#   repush                     big100 pushed again to the same repository (first registry,
#       pushed once untimed before the rounds, caches warm): imagectl push and podman push;
#       REPUSH_RUNS (default 4 x RUNS) rounds, as a run takes only about 0.1 s
# Writes OUT/runs.tsv and OUT/summary.md (medians and ratios); big100 is built once and cached
# in $SCRATCH/peers/images.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
SHARED=${SHARED_BENCH:-$repo/../shared/bench}
[[ -d $SHARED ]] || SHARED=/work/shared/bench
RUNS=${RUNS:-5}
REPUSH_RUNS=${REPUSH_RUNS:-$((4 * RUNS))}
SCRATCH=${SCRATCH:-/work/scratch/benchreg}
mkdir -p "$SCRATCH"
OUT=${OUT:-$SCRATCH/registry-$(date +%Y%m%d-%H%M%S)}
export TMPDIR=$SCRATCH PEERS_PORT=${PEERS_PORT:-5070}
. "$SHARED/common.sh"
peers_reexec_in_mount_ns "$@"
for t in podman skopeo docker-registry jq curl /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "registry.sh needs $t (apt-get install podman skopeo docker-registry jq curl time)" >&2; exit 1; }
done
IMAGECTL=${IMAGECTL:-$repo/bin/imagectl}
FLOOR=${FLOOR:-$repo/bin/bench/floorpull}
for b in "$IMAGECTL" "$FLOOR"; do
  [[ -x $b ]] || { echo "missing $b: run make bench-registry (or make build, go build -o bin/bench/floorpull ./bench/floorpull)" >&2; exit 1; }
done
peers_setup
ensure_big_archive
registry_start
TESTDATA=${TESTDATA:-$SHARED/../testdata/images}
W=$PEERS_ROOT/work
OURS=$PEERS_ROOT/ours    # imagectl's store (its blob-info cache is $OURS/root/cache)
SKO=$PEERS_ROOT/skopeo   # skopeo's store for pulls
PUSHREG=127.0.0.1:$((PEERS_PORT + 1))
BIG=localhost/big100:latest
BB=localhost/busybox:latest
mkdir -p "$OUT"
IC=("$IMAGECTL" --root "$OURS/root" --runroot "$OURS/run" --storage-driver vfs
  --signature-policy "$POLICY" --registries-conf "$PEERS_ROOT/registries.conf")
SKC=(skopeo --policy "$POLICY")
skstore() { echo "containers-storage:[vfs@$SKO/root+$SKO/run]$1"; }

# The registry's content: big100 and busybox, as skopeo pushes them from podman's store (gzip).
podman load -q -i "$PEERS_IMAGES/big100.docker.tar" >/dev/null
podman load -q -i "$TESTDATA/busybox.docker.tar" >/dev/null
"${SKC[@]}" copy -q --dest-tls-verify=false "containers-storage:$BIG" "docker://$REG/bench/big100:latest"
"${SKC[@]}" copy -q --dest-tls-verify=false "containers-storage:$BB" "docker://$REG/bench/busybox:latest"
podman rmi -a -f >/dev/null

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "fs: $(df -T "$PEERS_ROOT" | awk 'NR==2 {print $2}') under $PEERS_ROOT"
  echo "podman: $(podman --version); skopeo: $(skopeo --version); registry: $(docker-registry --version 2>&1 | head -1)"
  echo "imagectl: $(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown)"
  echo "mount namespace (private blob-info cache for podman/skopeo): ${PEERS_IN_NS:-no}"
  for i in big100 busybox; do
    echo "registry $i: $(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
      "http://$REG/v2/bench/$i/manifests/latest" | jq -c '{mediaType, layers: [.layers[] | {mediaType: (.mediaType | split(".") | last), size}]}')"
  done
  echo "runs: $RUNS (+1 warm-up round, not counted)"
} | tee "$OUT/machine.txt"

TSV=$OUT/runs.tsv
printf 'round\top\ttool\twall_s\tuser_s\tsys_s\tmaxrss_kib\texit\n' > "$TSV"
# timed ROUND OP TOOL CMD...: run CMD once, append a row to runs.tsv (wall from the clock in
# ns; CPU and peak RSS of the largest process from GNU time).
timed() {
  local r=$1 op=$2 tool=$3 rc=0 t0 t1 wall usr sys rss
  shift 3
  sync
  t0=$(date +%s%N)
  /usr/bin/time -f '%U %S %M' -o "$W/time.out" "$@" >/dev/null 2>"$W/last.err" || rc=$?
  t1=$(date +%s%N)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  read -r usr sys rss < <(tail -1 "$W/time.out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$op" "$tool" "$wall" "$usr" "$sys" "$rss" "$rc" >> "$TSV"
  log "round $r  $op  $tool  ${wall}s  cpu ${usr}+${sys}s  $((rss / 1024)) MiB  exit $rc"
  if (( rc != 0 )); then cat "$W/last.err" >&2; fi
}
clear_caches() { rm -rf "$PEERS_ROOT"/blobcache/* "$OURS/root/cache"; }
PUSHREG_PID=
pushreg_start() {
  local d=$PEERS_ROOT/pushreg
  rm -rf "$d"
  mkdir -p "$d"
  sed -e "s|rootdirectory: .*|rootdirectory: $d|" -e "s|addr: .*|addr: $PUSHREG|" \
    "$PEERS_ROOT/registry-config.yml" > "$PEERS_ROOT/pushreg.yml"
  env -u REGISTRY_AUTH_FILE docker-registry serve "$PEERS_ROOT/pushreg.yml" > "$PEERS_ROOT/logs/pushreg.log" 2>&1 &
  PUSHREG_PID=$!
  until curl -fsS "http://$PUSHREG/v2/" >/dev/null 2>&1; do
    kill -0 "$PUSHREG_PID" || { cat "$PEERS_ROOT/logs/pushreg.log" >&2; exit 1; }
    sleep 0.1
  done
}
pushreg_stop() {
  if [[ -n $PUSHREG_PID ]]; then
    kill "$PUSHREG_PID" 2>/dev/null || true
    wait "$PUSHREG_PID" 2>/dev/null || true
    PUSHREG_PID=
  fi
}
trap 'pushreg_stop; peers_cleanup' EXIT

# pull ROUND IMAGE TOOL: one cold pull of bench/IMAGE, the store emptied first (untimed)
pull() {
  local r=$1 img=$2 tool=$3 src=$REG/bench/$2:latest op=pull-$2
  clear_caches
  case $tool in
    imagectl) rm -rf "$OURS"; timed "$r" "$op" imagectl "${IC[@]}" pull -q --tls-verify=false "$src" ;;
    podman) podman rmi -a -f >/dev/null 2>&1 || true; timed "$r" "$op" podman podman pull -q --tls-verify=false "$src" ;;
    skopeo) rm -rf "$SKO"; timed "$r" "$op" skopeo "${SKC[@]}" copy -q --src-tls-verify=false "docker://$src" "$(skstore "localhost/$img:latest")" ;;
    floor) rm -rf "$W/floor"; timed "$r" "$op" floor "$FLOOR" "$REG" "bench/$img:latest" "$W/floor"; rm -rf "$W/floor" ;;
  esac
}
# push ROUND OP TOOL: one first push of big100 into a new, empty registry, caches emptied
push() {
  local r=$1 op=$2 tool=$3 dst=$PUSHREG/bench/big100:latest
  pushreg_start
  clear_caches
  case $tool/$op in
    imagectl/push-gzip) timed "$r" "$op" imagectl "${IC[@]}" push -q --tls-verify=false --compression-format gzip "$BIG" "$dst" ;;
    podman/push-gzip) timed "$r" "$op" podman podman push -q --tls-verify=false --compression-format gzip "$BIG" "$dst" ;;
    skopeo/push-gzip) timed "$r" "$op" skopeo "${SKC[@]}" copy -q --dest-tls-verify=false --dest-compress-format gzip "containers-storage:$BIG" "docker://$dst" ;;
    imagectl/push-zstd) timed "$r" "$op" imagectl "${IC[@]}" push -q --tls-verify=false --compression-format zstd "$BIG" "$dst" ;;
    podman/push-zstd) timed "$r" "$op" podman podman push -q --tls-verify=false --compression-format zstd "$BIG" "$dst" ;;
  esac
  pushreg_stop
}
# repush ROUND TOOL: big100 again to the repository it was pushed to before (caches warm)
repush() {
  local r=$1 tool=$2 dst=$REG/bench/re-$2:latest
  case $tool in
    imagectl) timed "$r" repush imagectl "${IC[@]}" push -q --tls-verify=false "$BIG" "$dst" ;;
    podman) timed "$r" repush podman podman push -q --tls-verify=false "$BIG" "$dst" ;;
  esac
}
order() { # order ROUND TOOLS...: the tools rotated by ROUND, so that over as many rounds as
  # tools each one runs once in each slot (the last slot of a round measured slower on
  # 2026-12-04, by up to 0.4 s for a 1 s pull: reversing the order left the middle tools
  # never last)
  local r=$1
  shift
  local a=("$@")
  local k=$((r % ${#a[@]}))
  echo "${a[@]:k}" "${a[@]:0:k}"
}

for r in $(seq 0 "$RUNS"); do
  for img in big100 busybox; do
    for t in $(order "$r" imagectl podman skopeo floor); do pull "$r" "$img" "$t"; done
  done
done

# big100 in imagectl's and podman's stores (skopeo pushes from podman's), as pulled from the
# registry; then one untimed push each to the re-push repositories.
rm -rf "$OURS" "$SKO"
podman rmi -a -f >/dev/null 2>&1 || true
"${IC[@]}" pull -q --tls-verify=false "$REG/bench/big100:latest" >/dev/null
"${IC[@]}" tag "$REG/bench/big100:latest" "$BIG"
podman pull -q --tls-verify=false "$REG/bench/big100:latest" >/dev/null
podman tag "$REG/bench/big100:latest" "$BIG"
for r in $(seq 0 "$RUNS"); do
  for t in $(order "$r" imagectl podman skopeo); do push "$r" push-gzip "$t"; done
  for t in $(order "$r" imagectl podman); do push "$r" push-zstd "$t"; done
done
clear_caches
"${IC[@]}" push -q --tls-verify=false "$BIG" "$REG/bench/re-imagectl:latest"
podman push -q --tls-verify=false "$BIG" "$REG/bench/re-podman:latest"
for r in $(seq 0 "$REPUSH_RUNS"); do
  for t in $(order "$r" imagectl podman); do repush "$r" "$t"; done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"

# medians and ratios (round 0 is the warm-up)
awk -F'\t' -v runs="$RUNS" '
  NR == 1 || $1 == 0 || $8 != 0 { next }
  { k = $2 SUBSEP $3; n[k]++; w[k, n[k]] = $4; c[k, n[k]] = $5 + $6; m[k, n[k]] = $7 }
  function med(a, k,   i, j, t, v, cnt) {
    cnt = n[k]
    for (i = 1; i <= cnt; i++) v[i] = a[k, i]
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
  }
  function mw(op, tool) { return ((op, tool) in n) ? med(w, op SUBSEP tool) : 0 }
  function cell(op, tool,   k) {
    k = op SUBSEP tool
    return (k in n) ? sprintf("%.3f s (%d), cpu %.2f s, %.0f MiB", med(w, k), n[k], med(c, k), med(m, k) / 1024) : "-"
  }
  function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }
  END {
    print "| operation (vfs) | imagectl: median wall (runs), median CPU, peak RSS | podman 4.3 | skopeo 1.9 | floor | imagectl/podman | imagectl/skopeo | imagectl/floor | podman/floor | (imagectl-floor)/(podman-floor) |"
    print "|---|---|---|---|---|---|---|---|---|---|"
    split("pull-big100 pull-busybox push-gzip push-zstd repush", order, " ")
    for (i = 1; i <= 5; i++) {
      op = order[i]
      a = mw(op, "imagectl"); p = mw(op, "podman"); s = mw(op, "skopeo"); f = mw(op, "floor")
      print "| " op " | " cell(op, "imagectl") " | " cell(op, "podman") " | " cell(op, "skopeo") " | " cell(op, "floor") \
        " | " ratio(a, p) " | " ratio(a, s) " | " ratio(a, f) " | " ratio(p, f) " | " (f > 0 ? ratio(a - f, p - f) : "-") " |"
    }
    print ""
    print "Medians of " runs " interleaved rounds (re-push: " n["repush" SUBSEP "imagectl"] ") after one warm-up round; zstd/gzip for imagectl: " \
      ratio(mw("push-zstd", "imagectl"), mw("push-gzip", "imagectl")) ", for podman: " ratio(mw("push-zstd", "podman"), mw("push-gzip", "podman")) "."
  }' "$TSV" | tee "$OUT/summary.md"
echo "results: $OUT"
