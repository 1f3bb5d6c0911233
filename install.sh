#!/bin/sh
# Installs a TaskFerry release binary, after checking it against the release's SHA256SUMS.
#   sh install.sh                   # latest release into ~/.local/bin
#   sh install.sh v0.2.0            # a given release
# Settings (environment):
#   TASKFERRY_RELEASES    where releases live; a release's files are under $TASKFERRY_RELEASES/<tag>
#                         (default: https://github.com/$TASKFERRY_REPO/releases/download)
#   TASKFERRY_REPO        owner/name of the repository (default taskferry/taskferry)
#   TASKFERRY_INSTALL_DIR where to put 'taskferry' (default ~/.local/bin)
# Nothing is installed unless the checksum matches.
set -eu

repo=${TASKFERRY_REPO:-taskferry/taskferry}
releases=${TASKFERRY_RELEASES:-https://github.com/$repo/releases/download}
dir=${TASKFERRY_INSTALL_DIR:-$HOME/.local/bin}
tag=${1:-${TASKFERRY_VERSION:-latest}}

fail() { echo "install.sh: $*" >&2; exit 1; }

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=macos ;;
  *) fail "unsupported system $(uname -s): download the binary from the releases page" ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) fail "unsupported machine $(uname -m)" ;;
esac
asset="taskferry-$os-$arch"

if [ "$tag" = latest ]; then
  # GitHub redirects /releases/latest/download/<file> to the newest release.
  base=$(printf '%s' "$releases" | sed 's#/releases/download$#/releases/latest/download#')
  [ "$base" != "$releases" ] || base="$releases/latest"
else
  base="$releases/$tag"
fi

fetch() {
  if command -v curl >/dev/null 2>&1; then curl -fsSL -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  else fail "need curl or wget"; fi
}
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
  else fail "need sha256sum or shasum to verify the download"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || fail "cannot download $base/SHA256SUMS"
fetch "$base/$asset" "$tmp/$asset" || fail "cannot download $base/$asset"
want=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$tmp/SHA256SUMS")
[ -n "$want" ] || fail "SHA256SUMS has no line for $asset"
got=$(sha256 "$tmp/$asset")
[ "$got" = "$want" ] || fail "checksum mismatch for $asset: expected $want, got $got; nothing installed"

mkdir -p "$dir"
chmod 0755 "$tmp/$asset"
mv "$tmp/$asset" "$dir/taskferry"
echo "installed $dir/taskferry ($("$dir/taskferry" --version 2>/dev/null || echo "$asset"))"
case ":$PATH:" in *":$dir:"*) ;; *) echo "add $dir to PATH" ;; esac
