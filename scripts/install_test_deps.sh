#!/usr/bin/env bash
# The real peers the test suite talks to, from Debian's packages. Installs what is missing when run as
# root; otherwise names what is missing and fails, rather than letting tests skip silently.
set -euo pipefail
packages=(sqlite3 strace openssh-server openssh-client restic age pigz rsync rsnapshot hyperfine qemu-user
  libc6-arm64-cross rclone zstd lz4 time zsh fish man-db groff-base wabt chromium systemd python3 e2fsprogs
  util-linux bsdutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install_test_deps: missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install_test_deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
