#!/usr/bin/env bash
# clone.sh NSTORE SRC DST [PODMAN_GLOBAL_FLAGS...] - compare.sh's --prepare for rm and prune:
# DST becomes a copy of the store SRC (nstore -clone: hard links, podman's database left out);
# with podman flags, podman then opens the copy once (`image exists`), so that the timed podman
# run finds its database made, as on the original store.
set -euo pipefail
nstore=$1 src=$2 dst=$3
shift 3
"$nstore" -clone "$src" -root "$dst"
if (( $# > 0 )); then
  podman "$@" image exists localhost/chain-top:latest || true
fi
