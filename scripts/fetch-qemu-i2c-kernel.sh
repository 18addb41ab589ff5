#!/usr/bin/env bash
# Fetches, once, the few Debian kernel files the real-kernel I2C test boots in QEMU (an x86 guest with
# i2c-dev and the i2c-piix4 SMBus adapter; see Tests/IntegrationTests/I2CKernelTests.swift). The kernel
# package is pinned, so every run boots the same kernel; nothing is installed on the host, only a few
# files are extracted into the cache directory (outside the repository):
#   ${FIELDLINK_QEMU_I2C_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldlink/qemu-i2c}/<version>/
#     vmlinux                     the uncompressed kernel (boots via PVH, ~2.5 s faster under TCG than bzImage)
#     i2c-smbus.ko i2c-dev.ko i2c-piix4.ko
# Idempotent: does nothing when the files are there. Needs apt-get (no root) and python3.
set -euo pipefail

# The pin: Debian bookworm's amd64 kernel (bookworm-security). Its config has CONFIG_I2C as a module
# tree (linux-image-cloud-amd64 has no I2C at all). Override for another release with these two.
package=${FIELDLINK_QEMU_KERNEL_PACKAGE:-linux-image-6.1.0-56-amd64}
version=${FIELDLINK_QEMU_KERNEL_VERSION:-6.1.192-2}
cache=${FIELDLINK_QEMU_I2C_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldlink/qemu-i2c}
target=$cache/$package
files=(vmlinux i2c-smbus.ko i2c-dev.ko i2c-piix4.ko)

complete() { for f in "${files[@]}"; do [[ -s $target/$f ]] || return 1; done; }
if complete; then exit 0; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fieldlink-kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "fetch-qemu-i2c-kernel: apt-get download $package=$version (about 70 MB, once)" >&2
if ! apt-get download "$package=$version" >/dev/null 2>apt.err; then
    cat apt.err >&2
    echo "fetch-qemu-i2c-kernel: cannot download $package=$version; run apt-get update, or pin another" \
         "version with FIELDLINK_QEMU_KERNEL_PACKAGE/FIELDLINK_QEMU_KERNEL_VERSION" >&2
    exit 1
fi
mkdir kern
dpkg-deb --fsys-tarfile "$package"_*.deb | tar -x -C kern --wildcards './boot/vmlinuz-*' \
    './lib/modules/*/kernel/drivers/i2c/i2c-dev.ko' './lib/modules/*/kernel/drivers/i2c/i2c-smbus.ko' \
    './lib/modules/*/kernel/drivers/i2c/busses/i2c-piix4.ko'
mkdir -p "$target.partial"
find kern/lib/modules -name '*.ko' -exec cp {} "$target.partial/" \;
# The bzImage's payload is XZ; the first magic that really decodes is the kernel.
python3 - kern/boot/vmlinuz-* "$target.partial/vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], "rb").read(); at = -1
while True:
    at = data.find(b"\xfd7zXZ\x00", at + 1)
    if at < 0: sys.exit("fetch-qemu-i2c-kernel: no XZ payload in " + sys.argv[1])
    try:
        open(sys.argv[2], "wb").write(lzma.LZMADecompressor().decompress(data[at:])); break
    except lzma.LZMAError:
        pass
PY
rm -rf "$target" && mv "$target.partial" "$target"
complete
echo "fetch-qemu-i2c-kernel: cached in $target" >&2
