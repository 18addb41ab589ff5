#!/usr/bin/env bash
# Cross-builds fieldlink for a Raspberry Pi (arm64) on an x86_64 Debian/Ubuntu machine; prints the
# binary's path. `make deb ARCH=arm64` (scripts/build-deb.sh --arch arm64) runs it.
#
#   scripts/cross-build.sh arm64 [SCRATCH]     (default scratch path: .build-arm64)
#
# Two things must be there, and when one is missing this prints the one step that adds it and
# exits 69 (EX_UNAVAILABLE):
#   1. a Swift SDK for aarch64 Linux (glibc), the same Swift version as `swift --version`
#      (`swift sdk list`; $SWIFT_SDKS_PATH points `swift sdk` at another folder);
#   2. Debian's arm64 builds of the C libraries, through multiarch (libmodbus, libmosquitto, libsystemd).
# The SDK's sysroot brings glibc and the Swift runtime; the C libraries come from the host's
# /usr/lib/aarch64-linux-gnu (their headers are the same for every architecture).
set -euo pipefail

cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
arch=${1:?usage: scripts/cross-build.sh arm64 [SCRATCH]}
scratch=${2:-.build-$arch}

case $arch in
    arm64) triple=aarch64-unknown-linux-gnu; multiarch=aarch64-linux-gnu ;;
    *) echo "cross-build: $arch is not supported (arm64 is: a Raspberry Pi 3, 4 or 5 with a 64-bit OS)" >&2; exit 64 ;;
esac

missing() {
    echo "cross-build: one step is missing: $*" >&2
    exit 69
}

sdk_args=()
[[ -n ${SWIFT_SDKS_PATH:-} ]] && sdk_args=(--swift-sdks-path "$SWIFT_SDKS_PATH")
swift_version=$("$SWIFT" --version 2>/dev/null | sed -n 's/.*Swift version \([0-9][0-9.]*\).*/\1/p' | head -1)
sdk=$("$SWIFT" sdk list "${sdk_args[@]}" 2>/dev/null | grep -iE 'aarch64|arm64' | grep -viE 'musl|static' | head -1 || true)
if [[ -z $sdk ]]; then
    missing "no Swift SDK for aarch64 Linux is installed. Make one for Debian 12 (Raspberry Pi OS bookworm) with" \
        "swift-sdk-generator and install it: git clone https://github.com/swiftlang/swift-sdk-generator &&" \
        "cd swift-sdk-generator && swift run swift-sdk-generator make-linux-sdk --swift-version ${swift_version:-X.Y.Z}-RELEASE" \
        "--target $triple --distribution-name debian --distribution-version 12 &&" \
        "swift sdk install Bundles/<the bundle it names>.artifactbundle — then run make deb ARCH=$arch again"
fi

packages=(libmodbus-dev libmosquitto-dev libsystemd-dev libyaml-dev)
absent=()
for package in "${packages[@]}"; do
    dpkg-query -W -f '${Status}' "$package:$arch" 2>/dev/null | grep -q 'install ok installed' || absent+=("$package:$arch")
done
if ((${#absent[@]})); then
    step="sudo apt-get install ${absent[*]}"
    dpkg --print-foreign-architectures | grep -qx "$arch" || step="sudo dpkg --add-architecture $arch && sudo apt-get update && $step"
    missing "Debian's $arch libraries are not installed: $step"
fi

export PKG_CONFIG_PATH=/usr/lib/$multiarch/pkgconfig:/usr/share/pkgconfig
export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
flags=(-c release --static-swift-stdlib --product fieldlink --swift-sdk "$sdk" --scratch-path "$scratch"
       -Xcc -I/usr/include -Xcc -I/usr/include/$multiarch -Xlinker -L/usr/lib/$multiarch -Xlinker -rpath-link=/usr/lib/$multiarch)
"$SWIFT" build "${flags[@]}" >&2
echo "$("$SWIFT" build "${flags[@]}" --show-bin-path)/fieldlink"
