#!/bin/sh
# build-workload DIR [COUNT]: a small package build in DIR, for the fault
# and soak tests. It makes COUNT source files in three folders and gives
# them to unmapped owners with chown. It packs them with tar and unpacks the
# archive as root, which chowns every entry back to its recorded owner.
# Then it gives the unpacked copy to another owner and makes a device node.
#
# Every chown that returned is logged in DIR/chown.log, one line per file
# as "UID:GID PATH" (PATH relative to DIR), written only after the chown
# call returned, so a kill at any moment leaves a log whose every complete
# line must be recorded. A file may appear more than once; its last line is
# its owner.
set -eu

dir=$1
count=${2:-200}
cd "$dir"
mkdir -p src/a src/b src/c/deep out

i=0
while [ "$i" -lt "$count" ]; do
  case $((i % 3)) in
    0) echo "a $i" >"src/a/f$i" ;;
    1) echo "b $i" >"src/b/f$i" ;;
    *) echo "c $i" >"src/c/deep/f$i" ;;
  esac
  i=$((i + 1))
done

# chown -v prints "changed ownership of 'PATH' from OLD to UID:GID" after
# each fchownat returned; stdbuf makes it write each line at once. The
# awk program turns that into "UID:GID PATH" and flushes every line.
log() {
  stdbuf -oL chown -v "$@" | awk '
    / to [0-9]+:[0-9]+$/ {
      path = $0
      sub(/^[^'\'']*'\''/, "", path)
      sub(/'\''[^'\'']*$/, "", path)
      print $NF, path
      fflush()
    }' >>chown.log
}

log 2001:3001 src/a/*
log -R 2002:3002 src/b
log -R 4000000:4000001 src/c

tar -C src -cf pkg.tar .
tar -C out --same-owner -xf pkg.tar
log -R 2003:3003 out/c
mknod out/null c 1 3
tar -C out -cf out.tar .
