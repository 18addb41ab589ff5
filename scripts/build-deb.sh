#!/usr/bin/env bash
# Builds the Debian package dist/fieldlink_<version>_<arch>.deb (`make deb`).
#
#   scripts/build-deb.sh                      release build (--static-swift-stdlib, default .build), then package
#   scripts/build-deb.sh --binary PATH        package an existing binary instead (the tests use the debug build)
#   options: --scratch-path DIR (where swift builds; default .build)   --output DIR (default dist)
#            --arch ARCH (default: dpkg --print-architecture; must match the binary's ELF machine;
#              another one without --binary cross-builds it: scripts/cross-build.sh, e.g. arm64)
#            --tools-binary PATH (a fieldlink for this machine, for the version and fieldlink.yaml(5)
#              when the packaged binary cannot run here; a cross-build makes one)
#            --generate-manual PATH (accepted and ignored: the man pages no longer need it)
#
# The version is `fieldlink --version`; fieldlink(1) is man/fieldlink.1 and fieldlink.yaml(5) is
# `fieldlink reference` (the loader's key tables), so the binary must run here (on the Pi, or under
# qemu-user binfmt for a cross-built one: see the README, "Deploy on a Raspberry Pi").
# Maintainer: $FIELDLINK_MAINTAINER, or the placeholder below.
set -euo pipefail

cd "$(dirname "$0")/.."
umask 022
SWIFT=${SWIFT:-swift}

binary=""
scratch=.build
output=dist
arch=""
tools=""
while (($#)); do
    case $1 in
        --binary) binary=$2; shift 2 ;;
        --scratch-path) scratch=$2; shift 2 ;;
        --output) output=$2; shift 2 ;;
        --arch) arch=$2; shift 2 ;;
        --tools-binary) tools=$2; shift 2 ;;
        --generate-manual) shift 2 ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-deb: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done

fail() { echo "build-deb: $*" >&2; exit 1; }

for tool in dpkg-deb dpkg dpkg-shlibdeps gzip; do
    command -v "$tool" >/dev/null || fail "$tool not found: run \`scripts/install-deps.sh deb\` (Debian / Raspberry Pi OS)"
done

# 1. The binary: a release build of the product only (no tests, no benchmark), or the one given;
#    for another architecture a cross-build, and a build for this machine to run as the tools.
arch=${arch:-$(dpkg --print-architecture)}
if [[ -z $binary && $arch != "$(dpkg --print-architecture)" ]]; then
    binary=$(SWIFT=$SWIFT scripts/cross-build.sh "$arch" "$scratch-$arch") || exit $?
    if [[ -z $tools ]]; then
        "$SWIFT" build -c release --static-swift-stdlib --scratch-path "$scratch" --product fieldlink
        tools="$("$SWIFT" build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/fieldlink"
    fi
    release=1
elif [[ -z $binary ]]; then
    flags=(-c release --static-swift-stdlib --scratch-path "$scratch")
    "$SWIFT" build "${flags[@]}" --product fieldlink
    binary="$("$SWIFT" build "${flags[@]}" --show-bin-path)/fieldlink"
    release=1
else
    release=0
fi
[[ -x $binary ]] || fail "$binary is missing or not executable"
tools=${tools:-$binary}
[[ -x $tools ]] || fail "$tools is missing or not executable"

version=$("$tools" --version) || fail "$tools --version failed (for a binary of another architecture pass --tools-binary, or use qemu-user binfmt)"
[[ $version =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || fail "\"$version\" (from $binary --version) is not a Debian version"

# 2. Architecture: dpkg's name for this machine, checked against the binary's ELF e_machine.
machine=$(od -An -tu2 -j18 -N2 "$binary" | tr -d ' ')
case $machine in
    62) elf_arch=amd64 ;; 183) elf_arch=arm64 ;; 40) elf_arch=armhf ;; 243) elf_arch=riscv64 ;; *) elf_arch="ELF machine $machine" ;;
esac
[[ $arch == "$elf_arch" ]] || fail "$binary is built for $elf_arch, not $arch (pass --arch)"

# 3. What the package relies on between files: the unit's paths and the config's state_dir.
grep -qx 'ExecStart=/usr/bin/fieldlink run --config /etc/fieldlink/fieldlink.yaml .*' systemd/fieldlink.service ||
    fail "systemd/fieldlink.service no longer runs /usr/bin/fieldlink with /etc/fieldlink/fieldlink.yaml; update this script"
grep -qx 'StateDirectory=fieldlink' systemd/fieldlink.service ||
    fail "systemd/fieldlink.service has no StateDirectory=fieldlink; the packaged config's state_dir assumes it"
grep -qE '^  state_dir: /var/lib/fieldlink( |$)' config/example.yaml ||
    fail "config/example.yaml's state_dir is not /var/lib/fieldlink (the unit's StateDirectory=)"

# 4. The staging tree.
mkdir -p "$output"
output=$(cd "$output" && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/fieldlink-deb.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT
root="$stage/fieldlink_${version}_$arch"

install -D -m 0755 "$binary" "$root/usr/bin/fieldlink"
# Debug info off (about 10 MB); the symbol table stays, so Swift's crash backtraces keep their names.
if ((release)) && command -v strip >/dev/null; then strip --strip-debug "$root/usr/bin/fieldlink"; fi
install -D -m 0644 systemd/fieldlink.service "$root/lib/systemd/system/fieldlink.service"
install -D -m 0644 systemd/fieldlink.sysusers "$root/usr/lib/sysusers.d/fieldlink.conf"
install -D -m 0644 config/example.yaml "$root/etc/fieldlink/fieldlink.yaml"
while IFS= read -r -d '' file; do
    install -D -m 0644 "$file" "$root/usr/share/fieldlink/$file"
done < <(find devices -type f -print0 | sort -z)
# README uncompressed: the unit's Documentation= points at it.
install -D -m 0644 README.md "$root/usr/share/doc/fieldlink/README.md"
cat >"$root/usr/share/doc/fieldlink/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: fieldlink
Comment: /usr/bin/fieldlink is linked statically against the Swift runtime and the Swift packages
 below; the C libraries it uses (libmodbus, libmosquitto, OpenSSL, libsystemd, libyaml) are
 shared libraries from their own Debian packages, with their own copyright files.

Files: *
Copyright: the fieldlink authors
License: see the fieldlink source repository

Files: Swift standard library, FoundationEssentials, Dispatch (statically linked)
Copyright: Apple Inc. and the Swift project authors
License: Apache-2.0 WITH Swift-exception

Files: swift-argument-parser, swift-log, swift-service-lifecycle, swift-collections, swift-protobuf, swift-async-algorithms (statically linked)
Copyright: Apple Inc. and the Swift project authors; the Swift Server Work Group
License: Apache-2.0

License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0. The Swift runtime library exception:
 https://swift.org/LICENSE.txt
EOF

# The man pages: fieldlink(1) written by hand, fieldlink.yaml(5) from the binary's key tables.
man_date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
mkdir -p "$stage/man" "$root/usr/share/man/man1" "$root/usr/share/man/man5"
sed -e "s/@DATE@/$man_date/" -e "s/@VERSION@/$version/" man/fieldlink.1 >"$stage/man/fieldlink.1"
"$tools" reference --date "$man_date" >"$stage/man/fieldlink.yaml.5" || fail "$tools reference failed"
[[ -s $stage/man/fieldlink.yaml.5 ]] || fail "fieldlink reference wrote nothing"
gzip -9n <"$stage/man/fieldlink.1" >"$root/usr/share/man/man1/fieldlink.1.gz"
gzip -9n <"$stage/man/fieldlink.yaml.5" >"$root/usr/share/man/man5/fieldlink.yaml.5.gz"
chmod 0644 "$root/usr/share/man/man1/fieldlink.1.gz" "$root/usr/share/man/man5/fieldlink.yaml.5.gz"

# 5. DEBIAN/: control, conffiles, maintainer scripts.
mkdir -p "$root/DEBIAN"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
# Depends: the shared libraries the binary links, as dpkg-shlibdeps names them (with the versions the
# symbols need), plus libssl3 for TLS through libmosquitto. dpkg-shlibdeps wants a debian/control.
mkdir -p "$stage/debian"
printf 'Source: fieldlink\n\nPackage: fieldlink\nArchitecture: any\n' >"$stage/debian/control"
shlibs=$(cd "$stage" && dpkg-shlibdeps -O "${root#"$stage"/}/usr/bin/fieldlink" 2>"$stage/shlibdeps.log") ||
    { cat "$stage/shlibdeps.log" >&2; fail "dpkg-shlibdeps failed"; }
depends="${shlibs#shlibs:Depends=}, libssl3"
for package in libmodbus5 libmosquitto1 libsystemd0 libyaml-0-2; do
    [[ $depends =~ (^|, )$package( |,|$) ]] || fail "dpkg-shlibdeps did not find $package among the binary's libraries: $depends"
done
cat >"$root/DEBIAN/control" <<EOF
Package: fieldlink
Version: $version
Architecture: $arch
Maintainer: ${FIELDLINK_MAINTAINER:-fieldlink maintainers <maintainers@fieldlink.invalid>}
Installed-Size: $installed_size
Depends: $depends
Section: net
Priority: optional
Description: field-to-MQTT gateway daemon (Modbus, serial and I2C to MQTT)
 fieldlink polls Modbus RTU devices on RS-485 lines, Modbus TCP devices,
 serial text sensors (NMEA, key=value, CSV, regex) and I2C sensors on
 fixed-rate schedules, and publishes their readings to an MQTT broker as
 JSON, CBOR or Sparkplug B, keeping unsent readings in a disk-backed
 store-and-forward ring until the broker has acknowledged them.
 .
 This package installs a hardened systemd unit (Type=notify, watchdog,
 DynamicUser=, journald structured fields) and an example configuration in
 /etc/fieldlink/fieldlink.yaml. The service is not started on installation:
 edit the configuration, then run "systemctl enable --now fieldlink".
EOF
echo /etc/fieldlink/fieldlink.yaml >"$root/DEBIAN/conffiles"

# DPKG_ROOT is set when dpkg installs into another root without chrooting (--root with
# --force-script-chrootless): act on that root, and leave the running system's systemd alone.
# systemctl runs only when systemd is the running init (/run/systemd/system), so a chroot, a
# container or an image build installs the package without errors.
cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# fieldlink postinst: create the device groups the unit names (i2c) and tell systemd about the unit.
# The service is not enabled or started: edit /etc/fieldlink/fieldlink.yaml first, then
# `systemctl enable --now fieldlink`. An upgrade restarts it if it was running.
set -e

case "$1" in
    configure | abort-upgrade | abort-deconfigure | abort-remove)
        if command -v systemd-sysusers >/dev/null 2>&1; then
            systemd-sysusers ${DPKG_ROOT:+--root="$DPKG_ROOT"} fieldlink.conf
        fi
        if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
            systemctl daemon-reload || true
            if [ -n "$2" ]; then
                systemctl try-restart fieldlink.service || true
            fi
        fi
        ;;
esac

exit 0
EOF
cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# fieldlink prerm: on removal, stop and disable the service (an upgrade keeps it running; the
# postinst restarts it). Disabling works offline too, so it is done in a chroot as well.
set -e

case "$1" in
    remove | deconfigure)
        if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
            systemctl stop fieldlink.service || true
        fi
        if command -v systemctl >/dev/null 2>&1; then
            systemctl ${DPKG_ROOT:+--root="$DPKG_ROOT"} disable fieldlink.service >/dev/null 2>&1 || true
        fi
        ;;
esac

exit 0
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# fieldlink postrm: forget the unit; on purge, delete the state too (the store-and-forward ring and
# sequence numbers: under DynamicUser= they live in /var/lib/private/fieldlink). dpkg removes the
# conffile; /etc/fieldlink/mqtt-password is the administrator's and is left alone.
set -e

case "$1" in
    remove | purge)
        if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
            systemctl daemon-reload || true
        fi
        ;;
esac
if [ "$1" = purge ]; then
    rm -rf "${DPKG_ROOT:-}/var/lib/fieldlink" "${DPKG_ROOT:-}/var/lib/private/fieldlink"
fi

exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
for script in postinst prerm postrm; do
    sh -n "$root/DEBIAN/$script" || fail "DEBIAN/$script: syntax error"
done

# 6. The package, owned by root whoever builds it.
deb="$output/fieldlink_${version}_$arch.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
