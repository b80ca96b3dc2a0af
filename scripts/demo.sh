#!/usr/bin/env bash
# make demo: show what gotrap reads from real radio images.
# Usage: scripts/demo.sh BIN DATADIR
set -euo pipefail
bin=${1:-bin/gotrap}
data=${2:-../shared/data}
if [ ! -d "$data" ]; then
  echo "demo: $data not found; using the built-in fixtures in testdata/fits"
  data=testdata/fits
fi
echo "== gotrap info on the images in $data"
"$bin" info "$data"/*.fits || echo "(some files could not be read; see the reasons above)"
