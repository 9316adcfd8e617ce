#!/usr/bin/env bash
# Peak memory and throughput of `transfer-operator copy` on one large local file.
#
#   bench/copy_rss.sh [SIZE_MIB]      (default 2048)
#
# Memory must stay bounded by part size x concurrency (8 MiB x 4), not by the file size.
# Prints the copy's own summary, then the wall time and peak RSS from GNU time.
set -euo pipefail
size_mib=${1:-2048}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/transfer-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "writing ${size_mib} MiB of random data to $work/src.bin" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/src.bin"
sync
/usr/bin/time -v "$repo/.venv/bin/transfer-operator" copy --quiet \
    "file://$work/src.bin" "file://$work/dst/copy.bin" 2> "$work/time.txt"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$work/time.txt"
expected=$(sha256sum "$work/src.bin" | cut -d' ' -f1)
actual=$(sha256sum "$work/dst/copy.bin" | cut -d' ' -f1)
[ "$expected" = "$actual" ] && echo "destination sha256 verified independently: $actual"
