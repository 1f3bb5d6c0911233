#!/bin/sh
# Stamps the build: writes lib/cli/build_info.ts with the commit and UTC build time, so that
# 'taskferry --version' of a released binary names its commit. Used by the release workflow and
# the Dockerfile; a checkout keeps the committed file, which says "dev".
#   deploy/build-info.sh COMMIT [FILE]
set -eu
commit=${1:?usage: build-info.sh COMMIT [FILE]}
file=${2:-lib/cli/build_info.ts}
case $commit in
  *[!0-9A-Za-z._-]*) echo "build-info.sh: bad commit '$commit'" >&2; exit 2 ;;
esac
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$file" <<TS
/** Written by deploy/build-info.sh for a release build. */
export const BUILD_INFO: { commit: string; date: string } = { commit: "$commit", date: "$built" };
TS
