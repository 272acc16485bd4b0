#!/usr/bin/env bash
# The tessera-cuda package's libraries all resolve from what it bundles: stages the `cuda` install
# component (installers/linux/package_cuda.sh --stage-only) and asks the dynamic loader (ldd, no
# LD_LIBRARY_PATH) where every library of the staged CUDA backend comes from. Each must be found,
# and each torch, CUDA or NVIDIA library must come from the stage, not from this machine (which
# may have a CUDA toolkit or another libtorch installed); only glibc and the C++ runtime may not.
#   test_cuda_package_libraries.sh BUILD_DIR
set -euo pipefail
build="$(cd "${1:?usage: test_cuda_package_libraries.sh BUILD_DIR}" && pwd)"
work="$(mktemp -d /tmp/tessera-cuda-package.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

"$(dirname "$0")/../linux/package_cuda.sh" "$build" "$work" --stage-only
backend="$work/stage/usr/lib/tessera/backends/libtessera-backend-cuda.so"
[ -f "$backend" ] || fail "the cuda component has no $backend"
readelf -d "$backend" | grep -q 'R.*PATH.*\$ORIGIN/../cuda' || fail "the staged backend's RPATH is not \$ORIGIN/../cuda"
echo "staged: $(du -sh "$work/stage" | cut -f1) in $(find "$work/stage" -type f | wc -l) files"

env -i PATH="$PATH" ldd "$backend" > "$work/ldd.txt" || fail "ldd failed on $backend"
grep 'not found' "$work/ldd.txt" && fail "unresolved libraries (above)"
system_runtime='^(linux-vdso|/lib64/ld-linux|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libutil\.|libstdc\+\+\.|libgcc_s\.)'
outside=0
while read -r name _ path _; do
  [ -n "$name" ] || continue
  if [[ "$name" =~ $system_runtime ]]; then continue; fi
  case "$path" in
    "$work/stage/"*) ;;
    *) echo "from outside the package: $name => $path"; outside=1 ;;
  esac
done < "$work/ldd.txt"
[ "$outside" -eq 0 ] || fail "libraries the package must bundle were found elsewhere (above)"
echo "PASS: $(grep -c '=>' "$work/ldd.txt") libraries resolve; every torch and CUDA one from the package"
