#!/usr/bin/env bash
# The tessera-cuda .deb: the CUDA engine backend with the libtorch and CUDA libraries it loads (the
# CMake install component `cuda`), depending on the tessera package of the same version. Kept out
# of the main package so that it stays small for the CPU; zstd, because xz takes many minutes on
# 3.6 GB of libraries. Needs dpkg-deb.
#   installers/linux/package_cuda.sh BUILD_DIR OUT_DIR [--stage-only]
#     --stage-only  install the component into OUT_DIR/stage/usr and stop (the library check)
set -euo pipefail
build="$(cd "${1:?usage: package_cuda.sh BUILD_DIR OUT_DIR [--stage-only]}" && pwd)"
out="${2:?usage: package_cuda.sh BUILD_DIR OUT_DIR [--stage-only]}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$out/stage"
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")"
[ -n "$version" ] || { echo "package_cuda: $build is not a configured build tree" >&2; exit 2; }
grep -q '^TESSERA_CUDA_TORCH_DIR:PATH=.\+' "$build/CMakeCache.txt" ||
  { echo "package_cuda: $build has no CUDA backend (no PyTorch wheel: run scripts/setup)" >&2; exit 2; }

rm -rf "$stage"
cmake --install "$build" --component cuda --prefix "$stage/usr" --strip > "$out/install.log"
[ "${3:-}" = "--stage-only" ] && exit 0

arch="$(dpkg --print-architecture)"
mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: tessera-cuda
Version: $version-1
Architecture: $arch
Maintainer: Tessera maintainers
Depends: tessera (= $version-1)
Section: science
Priority: optional
Installed-Size: $(du -sk "$stage/usr" | cut -f1)
Description: CUDA engine backend of Tessera
 Trains on an NVIDIA GPU with PyTorch's libtorch and the CUDA libraries it loads, bundled
 (tessera-node loads it when the NVIDIA driver reports a GPU). Needs the NVIDIA driver.
CONTROL
dpkg-deb --root-owner-group -Zzstd -z3 --build "$stage" "$out/tessera-cuda_${version}-1_${arch}.deb"
