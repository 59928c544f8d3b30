#!/bin/sh
# Install the C library, headers, pkg-config file and CMake package into a prefix:
#   ffi/install.sh PREFIX [LIBDIR_NAME]        (run by `make install PREFIX=...`)
# Expects `make lib` (cargo build --release -p hamdb-capi) to have run: the C ABI crate's
# target/release/libhamdb_capi.{so,a} are installed as libhamdb.so.VERSION and libhamdb.a.
# The installed libraries are stripped of debug info (the release build carries it: ~28 MB .so,
# ~127 MB .a); HAMDB_KEEP_DEBUG=1 (`make install HAMDB_KEEP_DEBUG=1`) keeps it. STRIP names the
# strip program (default: strip).
set -eu
prefix=${1:?usage: ffi/install.sh PREFIX}
libdirname=${2:-lib}
root=$(cd "$(dirname "$0")/.." && pwd)
# The workspace's one version ([workspace.package] in Cargo.toml).
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
major=${version%%.*}
target=${CARGO_TARGET_DIR:-$root/target}/release
libdir=$prefix/$libdirname
mkdir -p "$prefix/include" "$libdir/pkgconfig" "$libdir/cmake/hamdb"
prefix=$(cd "$prefix" && pwd)
libdir=$prefix/$libdirname

install -m 644 "$root/include/hamdb.h" "$prefix/include/hamdb.h"
install -m 644 "$root/ffi/cpp/hamdb.hpp" "$prefix/include/hamdb.hpp"
install -m 755 "$target/libhamdb_capi.so" "$libdir/libhamdb.so.$version"
ln -sf "libhamdb.so.$version" "$libdir/libhamdb.so.$major"
ln -sf "libhamdb.so.$major" "$libdir/libhamdb.so"
install -m 644 "$target/libhamdb_capi.a" "$libdir/libhamdb.a"
if [ "${HAMDB_KEEP_DEBUG:-0}" != 1 ]; then
    # --strip-debug keeps the symbol tables: backtraces and profiles still name functions.
    ${STRIP:-strip} --strip-debug "$libdir/libhamdb.so.$version" "$libdir/libhamdb.a"
fi

sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" -e "s|@VERSION@|$version|g" \
    "$root/ffi/cmake/hamdb.pc.in" > "$libdir/pkgconfig/hamdb.pc"
sed -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" -e "s|@LIBDIRNAME@|$libdirname|g" \
    "$root/ffi/cmake/hamdbConfig.cmake.in" > "$libdir/cmake/hamdb/hamdbConfig.cmake"
sed -e "s|@VERSION@|$version|g" \
    "$root/ffi/cmake/hamdbConfigVersion.cmake.in" > "$libdir/cmake/hamdb/hamdbConfigVersion.cmake"
echo "installed hamdb $version into $prefix"
