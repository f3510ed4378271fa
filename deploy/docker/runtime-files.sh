#!/bin/sh
# Lays out the files an image runs, from a workspace that has been built (`npm run build`):
# every workspace's package.json and what its `files` field names (what npm would publish:
# dist/, and backend's wasm/), the lockfile, then the production dependencies only.
#
#   deploy/docker/runtime-files.sh DEST [extra npm ci flags...]
#
# The images run this in their build stage, and test/src/deploy-image.test.ts runs it on
# this machine, so the test proves what the image would hold: the compiled CLI starts and
# trains with no dev dependency (TypeScript, turbo, @types) installed.
set -eu
dest=$1
shift
cd "$(dirname "$0")/../.."
mkdir -p "$dest"
cp package.json package-lock.json "$dest/"
# npm ci checks the lockfile against every workspace the root package.json names, so the
# workspaces the image does not run (test, bench) come as bare manifests.
for ws in packages/* apps/* test bench; do
  [ -f "$ws/package.json" ] || continue
  mkdir -p "$dest/$ws"
  cp "$ws/package.json" "$dest/$ws/"
done
for ws in packages/* apps/*; do
  [ -f "$ws/package.json" ] || continue
  for entry in $(node -e 'for (const f of require(process.argv[1]).files ?? []) console.log(f)' "./$ws/package.json"); do
    if [ ! -e "$ws/$entry" ]; then
      echo "runtime-files: $ws/$entry is missing (run npm run build first)" >&2
      exit 1
    fi
    cp -R "$ws/$entry" "$dest/$ws/"
  done
done
cd "$dest"
npm ci --omit=dev --no-audit --no-fund "$@"
