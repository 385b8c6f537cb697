#!/bin/sh
# md-verify: check asynctx's RAID against the real Linux md driver in a small VM.
#
#   scripts/md-verify/run.sh [--full] [--filter SUBSTR] [--keep] [--capture DIR] [--live]
#
# Needs qemu-system-x86 and the Debian packages linux-image-amd64, mdadm and
# busybox-static (downloaded with apt-get download into .md-verify-cache/, which
# git ignores). Uses KVM when it boots the guest, TCG otherwise
# (MD_VERIFY_ACCEL=kvm|tcg forces one). Exit status 0 when every case passed.
set -eu
cd "$(dirname "$0")/../.."
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-x86
  else
    echo "md-verify: qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2
    exit 2
  fi
fi
npm run build --silent
exec node scripts/md-verify/matrix.mjs "$@"
