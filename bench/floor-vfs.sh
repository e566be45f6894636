#!/usr/bin/env bash
# floor-vfs.sh OUTDIR TAR... - the floor of storing layers with the vfs driver: for each layer
# tarball in order, one SHA-256 pass over it (the digest check any load or import makes) and
# the layer laid out as vfs does it: a copy of the previous layer's directory plus the
# layer's entries. OUTDIR must not exist; the caller removes it afterwards, outside the
# timing (../shared/bench/floor-big100-vfs.sh does the same but times its own rm -rf too).
set -euo pipefail
out=${1:?usage: floor-vfs.sh OUTDIR TAR...}
shift
mkdir "$out"
prev= i=0
for l in "$@"; do
  i=$((i + 1))
  sha256sum "$l" >/dev/null
  mkdir "$out/$i"
  [[ -z $prev ]] || cp -a "$out/$prev/." "$out/$i/"
  tar -xf "$l" -C "$out/$i"
  prev=$i
done
