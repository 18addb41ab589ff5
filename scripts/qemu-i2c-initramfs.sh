#!/usr/bin/env bash
# Packs an initramfs for the real-kernel I2C test: ROOT (holding the test's /init and its files) plus
# the host's static busybox, the cached i2c modules (scripts/fetch-qemu-i2c-kernel.sh), and each
# BINARY (into /bin) with every shared library `ldd` lists (the Swift runtime included), at the same
# paths as on the host, so the guest's dynamic loader finds them. Writes an uncompressed newc cpio to
# OUT (nothing to decompress under TCG) and prints the kernel to boot.
#   qemu-i2c-initramfs.sh ROOT OUT BINARY...
set -euo pipefail
root=$1 out=$2
shift 2
package=${FIELDLINK_QEMU_KERNEL_PACKAGE:-linux-image-6.1.0-56-amd64}
cache=${FIELDLINK_QEMU_I2C_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldlink/qemu-i2c}/$package
for f in vmlinux i2c-smbus.ko i2c-dev.ko i2c-piix4.ko; do
    [[ -s $cache/$f ]] || { echo "missing $cache/$f: run \`make test-deps\` (scripts/fetch-qemu-i2c-kernel.sh)" >&2; exit 2; }
done
[[ -x /bin/busybox ]] || { echo "missing /bin/busybox: run \`make test-deps\` (busybox-static)" >&2; exit 2; }
command -v cpio >/dev/null || { echo "missing cpio: run \`make test-deps\`" >&2; exit 2; }

mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/modules}
cp /bin/busybox "$root/bin/busybox"
cp "$cache"/*.ko "$root/lib/modules/"
for binary in "$@"; do
    cp "$binary" "$root/bin/"
    # `ldd` lines: "name => /path (addr)" or "/lib64/ld-linux-x86-64.so.2 (addr)"; copy each by its host path.
    ldd "$binary" | awk '/=> \//{print $3} /^\t\//{print $1}' | while read -r library; do
        [[ -e $root$library ]] && continue
        mkdir -p "$root$(dirname "$library")"
        cp -L "$library" "$root$library"
    done
done
# Debian's /lib64 and /lib are symlinks into /usr: make the loader's path exist either way.
if [[ ! -e $root/lib64/ld-linux-x86-64.so.2 && -e $root/usr/lib64/ld-linux-x86-64.so.2 ]]; then
    mkdir -p "$root/lib64" && cp "$root/usr/lib64/ld-linux-x86-64.so.2" "$root/lib64/"
fi
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$out"
echo "$cache/vmlinux"
