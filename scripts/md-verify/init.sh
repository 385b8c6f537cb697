#!/bin/busybox sh
# /init of the md-verify VM: mounts, loads the md modules, waits for the
# SCSI disks, then runs /job/job.sh and powers off. `dev N` names SCSI target N.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mkdir -p /run/mdadm /dev/md /tmp
hostname mdverify

while read -r m; do insmod "/mods/$m" || echo "@@WARN insmod $m failed"; done < /mods/order
NDISKS=$(sed -n 's/^NDISKS=//p' /job/job.sh)
i=0
while [ "$(ls /sys/class/scsi_disk 2>/dev/null | wc -l)" -lt "$NDISKS" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
dev() { echo "/dev/$(ls /sys/class/scsi_disk/*:0:$1:0/device/block/)"; }
# Prints "@@T STEP SECONDS-SINCE-BOOT" (where a case spends its VM time).
tick() { echo "@@T $1 $(cut -d' ' -f1 /proc/uptime)"; }
# Waits until md's sync_action is idle (resync, recovery or check done).
mdwait() {
  while [ "$(cat /sys/block/$1/md/sync_action)" != idle ]; do sleep 0.1; done
}
# Waits (up to 20 s) for md to mark an array clean after its last write (safe_mode_delay).
mdidle() {
  n=0
  while [ "$(cat /sys/block/$1/md/array_state)" = active ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n+1)); done
}
# md's own view of an array: sysfs values, one "key=value" per line.
mdinfo() {
  for f in level layout chunk_size raid_disks component_size degraded array_state sync_action last_sync_action mismatch_cnt; do
    echo "@@MD $f=$(cat /sys/block/$1/md/$f 2>/dev/null)"
  done
  echo "@@MD size_sectors=$(cat /sys/block/$1/size)"
  for d in /sys/block/$1/md/dev-*; do
    echo "@@MD $(basename $d) slot=$(cat $d/slot) offset=$(cat $d/offset) size=$(cat $d/size) state=$(cat $d/state)"
  done
}
# Runs md's check on an array and prints its mismatch count: `mdcheck md0` checks all of
# it; `mdcheck md0 A B C D` only member sectors [A, B) and [C, D) (sync_min/sync_max,
# chunk-aligned), for arrays too large to check whole in an emulated VM.
mdcheck() {
  md=/sys/block/$1/md
  if [ $# -eq 5 ]; then
    total=0
    for w in "$2 $3" "$4 $5"; do
      set -- $1 $w
      # sync_min may not pass sync_max: open the end first.
      echo max > $md/sync_max; echo $2 > $md/sync_min; echo $3 > $md/sync_max
      echo check > $md/sync_action
      # md pauses at sync_max rather than finishing: stop it there ("idle"); mismatch_cnt stays.
      if [ "$3" != max ]; then
        while [ "$(cat $md/sync_action)" != idle ] && [ "$(cut -d' ' -f1 $md/sync_completed)" != none ] &&
              [ "$(cut -d' ' -f1 $md/sync_completed)" -lt "$3" ]; do sleep 0.1; done
        echo idle > $md/sync_action
      fi
      mdwait $1
      tick "window $2-$3"
      total=$((total + $(cat $md/mismatch_cnt)))
    done
    echo 0 > $md/sync_min; echo max > $md/sync_max
    echo "@@CHECK last=$(cat $md/last_sync_action) mismatch_cnt=$total window"
    return
  fi
  echo check > $md/sync_action
  mdwait $1
  echo "@@CHECK last=$(cat $md/last_sync_action) mismatch_cnt=$(cat $md/mismatch_cnt)"
}
# SHA-256 of LEN bytes at byte OFFSET (both multiples of 512) of a block device.
devsha() {
  dd if=$1 bs=512 skip=$(($2 / 512)) count=$(($3 / 512)) 2>/dev/null | sha256sum | cut -d' ' -f1
}
echo 2000000 > /proc/sys/dev/raid/speed_limit_max
echo 2000000 > /proc/sys/dev/raid/speed_limit_min
echo "@@JOB-START disks=$(ls /sys/class/scsi_disk | wc -l)"
. /job/job.sh
echo "@@JOB-END rc=$?"
sync
poweroff -f
