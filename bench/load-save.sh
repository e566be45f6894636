#!/usr/bin/env bash
# load-save.sh: imagectl next to podman 4.3 for load, save and import of big100 (busybox plus
# three layers: 48 MiB incompressible, 32 MiB text, 4,000 small files; built by
# ../shared/bench/common.sh), on the same machine, same driver (vfs), same directory, runs
# interleaved (podman, imagectl, floor, podman, imagectl, floor, ...), medians of $RUNS.
#
#   bench/load-save.sh            (needs podman, buildah, busybox-static: see .ci/run)
#   RUNS=5 SCRATCH=/work/scratch SHARED_BENCH=../shared/bench
#
# The floor is ../shared/bench/floor-big100-vfs.sh: one SHA-256 pass per layer, each layer
# laid out as vfs does it. Prints a markdown table of medians and ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
SHARED=${SHARED_BENCH:-$repo/../shared/bench}
RUNS=${RUNS:-5}
export TMPDIR=${SCRATCH:-/var/tmp}
. "$SHARED/common.sh"
peers_reexec_in_mount_ns "$@"
peers_setup
ensure_big_archive
IMAGECTL=$repo/bin/imagectl
[[ -x $IMAGECTL ]] || { echo "build imagectl first: make build" >&2; exit 1; }
DA=$PEERS_IMAGES/big100.docker.tar
OA=$PEERS_IMAGES/big100.oci.tar
IMG=localhost/big100:latest
W=$PEERS_ROOT/work
OURS=$PEERS_ROOT/ours
ic() {
  "$IMAGECTL" --root "$OURS/root" --runroot "$OURS/run" --storage-driver vfs \
    --signature-policy "$POLICY" --registries-conf "$PEERS_ROOT/registries.conf" "$@"
}
# A 100 MB rootfs tarball for import: big100's layers applied in order, tarred.
mkdir -p "$W/layers" "$W/rootfs"
tar -xf "$DA" -C "$W/layers"
for l in $(jq -r '.[0].Layers[]' "$W/layers/manifest.json"); do tar -xf "$W/layers/$l" -C "$W/rootfs"; done
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
rm -rf "$W/rootfs"
cat "$DA" "$OA" "$W/rootfs.tar" >/dev/null # page cache warm for every candidate

TIMEFORMAT=%R
declare -A times
# timed NAME CMD...: run CMD once, append its wall time (s) to times[NAME].
timed() {
  local name=$1 t
  shift
  sync
  t=$( { time "$@" >/dev/null 2>"$W/last.err"; } 2>&1 ) || { cat "$W/last.err" >&2; return 1; }
  times[$name]+="$t "
}
fresh_podman() { podman rmi -a -f >/dev/null 2>&1 || true; }
fresh_ours() { rm -rf "$OURS"; }

for r in $(seq "$RUNS"); do
  log "round $r of $RUNS"
  fresh_podman; timed "podman load docker-archive" podman load -q -i "$DA"
  fresh_ours; timed "imagectl load docker-archive" ic load -i "$DA"
  timed "floor (hash + vfs layout)" "$SHARED/floor-big100-vfs.sh" "$W/layers" "$W"
  fresh_podman; timed "podman load oci-archive" podman load -q -i "$OA"
  fresh_ours; timed "imagectl load oci-archive" ic load -i "$OA"
  rm -f "$W"/out.*; timed "podman save docker-archive" podman save --format docker-archive -o "$W/out.p.tar" "$IMG"
  timed "imagectl save docker-archive" ic save --format docker-archive -o "$W/out.i.tar" "$IMG"
  rm -f "$W"/out.*; timed "podman save oci-archive" podman save --format oci-archive -o "$W/out.p.oci" "$IMG"
  timed "imagectl save oci-archive" ic save --format oci-archive -o "$W/out.i.oci" "$IMG"
  rm -f "$W"/out.*
  fresh_podman; timed "podman import (100 MB rootfs)" podman import "$W/rootfs.tar" localhost/imported:1
  fresh_ours; timed "imagectl import (100 MB rootfs)" ic import "$W/rootfs.tar" localhost/imported:1
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A med
for k in "${!times[@]}"; do med[$k]=$(echo "${times[$k]}" | median); done
echo "| operation (big100, vfs, $RUNS runs interleaved) | podman 4.3 median (s) | imagectl median (s) | ratio imagectl/podman |"
echo "|---|---|---|---|"
for op in "load docker-archive" "load oci-archive" "save docker-archive" "save oci-archive" "import (100 MB rootfs)"; do
  p=${med["podman $op"]}; i=${med["imagectl $op"]}
  echo "| $op | $p | $i | $(awk -v a="$i" -v b="$p" 'BEGIN {printf "%.2f", a/b}') |"
done
f=${med["floor (hash + vfs layout)"]}
echo
echo "Floor of a vfs load (hash each layer once, lay it out as vfs does): median $f s;" \
  "imagectl load docker-archive = $(awk -v a="${med["imagectl load docker-archive"]}" -v b="$f" 'BEGIN {printf "%.2f", a/b}')× the floor," \
  "podman = $(awk -v a="${med["podman load docker-archive"]}" -v b="$f" 'BEGIN {printf "%.2f", a/b}')×."
