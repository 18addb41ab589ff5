#!/usr/bin/env bash
# `make test-systemd` (part of `make test`): the Debian package under a real systemd (252, Debian 12).
#
#   1. builds the package (scripts/build-deb.sh, the release build `make deb` makes), unless --deb PATH;
#   2. builds a Debian bookworm root with mmdebstrap: systemd, udev, dbus, mosquitto, i2c-tools and the
#      package's Depends:, nothing from the build tree. It is cached as a newc cpio, named by a hash of
#      its inputs (this recipe's version, the package list, the mirrors), in
#      ${FIELDLINK_SYSTEMD_VM_CACHE:-${XDG_CACHE_HOME:-~/.cache}/fieldlink/systemd-vm}, so a second run only
#      adds a small second cpio (the .deb, a higher-versioned copy of it, the scenario);
#   3. boots it as an initramfs (systemd as PID 1) with the Debian kernel the I2C test caches
#      (scripts/fetch-qemu-i2c-kernel.sh), under qemu-system-x86_64 (TCG, no network). The guest's
#      ttyS1 is a host pty (QEMU's) with scripts/modbus_sim.py behind it; its PIIX4 SMBus adapter holds the
#      I2C test's sensor images;
#      Its real-time clock starts 21 days behind and it has no time sync; its ttyS2 is a host pty with
#      scripts/systemd-vm/host_clock.py behind it, the only source of the true time it has;
#   4. the guest installs the package with apt-get and runs scripts/systemd-vm/scenario.sh, which
#      prints `FLTEST PASS|FAIL <check>` lines on the serial console and powers off;
#   5. every check below must have passed; each one that did not is named with its reason. One is
#      judged here: time-corrected compares the ts of the readings the guest collected with the host
#      time at which the simulator answered the polls they came from.
#
# Options: --deb PATH (test that package instead of building one), --keep (keep the work directory).
# Environment: FIELDLINK_SYSTEMD_VM_TIMEOUT (seconds for the guest, default 360; an idle run needs about
# 150), FIELDLINK_SYSTEMD_VM_CACHE, FIELDLINK_DEBIAN_MIRROR, FIELDLINK_DEBIAN_SECURITY_MIRROR.
# A missing prerequisite is a failure (run `make test-deps`), never a skip. Every process it starts
# (QEMU, the simulator) is stopped by PID. Only loopback on the host: the guest has no network.
set -euo pipefail
cd "$(dirname "$0")/.."
begun=$SECONDS

# Bump when the base root's recipe changes (it is part of the cache key).
recipe_version=1
checks=(install not-started-by-install no-password-file fresh-start time-held time-corrected reading-modbus reading-i2c no-restart-loop dynamic-user
        status ready watchdog-pings watchdog-restart journal-fields journal-device-warning password-required credential reload security
        stop upgrade-install upgrade-keeps upgrade-backlog purge purge-clean purge-keeps-password no-priority-noise)

fail() { echo "test-systemd: FAIL: $*" >&2; exit 1; }
say() { printf 'test-systemd: [%3ds] %s\n' $((SECONDS - begun)) "$*" >&2; }

deb="" keep=0
while (($#)); do
    case $1 in
        --deb) deb=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) fail "unknown argument $1 (see --help)" ;;
    esac
done

# ---- Prerequisites: all of them, or a clear failure.
for tool in mmdebstrap qemu-system-x86_64 python3 dpkg-deb mosquitto_passwd sha256sum; do
    command -v "$tool" >/dev/null || fail "$tool not found: run \`make test-deps\` (scripts/install-deps.sh test)"
done
python3 -c 'import pymodbus, serial' 2>/dev/null || fail "python3 cannot import pymodbus and pyserial: run \`make test-deps\`"
kernel_package=${FIELDLINK_QEMU_KERNEL_PACKAGE:-linux-image-6.1.0-56-amd64}
kernel_cache=${FIELDLINK_QEMU_I2C_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldlink/qemu-i2c}/$kernel_package
for file in vmlinux i2c-smbus.ko i2c-dev.ko i2c-piix4.ko; do
    [[ -s $kernel_cache/$file ]] || fail "missing $kernel_cache/$file: run \`make test-deps\` (scripts/fetch-qemu-i2c-kernel.sh)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/fieldlink-systemd.XXXXXX")
qemu_pid="" sim_pid="" clock_pid=""
cleanup() {
    local status=$?
    for pid in $sim_pid $clock_pid $qemu_pid; do
        if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
    done
    for pid in $sim_pid $clock_pid $qemu_pid; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if ((keep)); then echo "test-systemd: work directory kept: $work" >&2; else rm -rf -- "$work"; fi
    exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. The package.
if [[ -z $deb ]]; then
    say "building the package (scripts/build-deb.sh, release)"
    deb=$(scripts/build-deb.sh ${FIELDLINK_RELEASE_SCRATCH:+--scratch-path "$FIELDLINK_RELEASE_SCRATCH"} | tail -1) || fail "scripts/build-deb.sh failed"
fi
[[ -s $deb ]] || fail "no package at '$deb'"
version=$(dpkg-deb -f "$deb" Version)
[[ $(dpkg-deb -f "$deb" Architecture) == amd64 ]] || fail "$deb is for $(dpkg-deb -f "$deb" Architecture); the QEMU guest is amd64"
# The guest installs it with apt, so its Depends: must be in the base root (apt has no network there).
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/[(|].*//' -e 's/[[:space:]]//g' | grep -v '^$')
packages=$(printf '%s\n' systemd systemd-sysv udev dbus mosquitto mosquitto-clients i2c-tools kmod $depends | sort -u | paste -sd, -)
say "package $(basename "$deb"); base root packages: $packages"

# ---- 2. The bookworm root, cached by the hash of its inputs.
mirror=${FIELDLINK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${FIELDLINK_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache=${FIELDLINK_SYSTEMD_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldlink/systemd-vm}
key=$(printf '%s\n' "$recipe_version" bookworm "$packages" "$mirror" "$security" \
      "$(sha256sum scripts/systemd-vm/tar2cpio.py | cut -d' ' -f1)" | sha256sum | cut -c1-16)
base=$cache/bookworm-$key.cpio
if [[ -s $base ]]; then
    say "base root cached: $base"
else
    say "building the bookworm base root with mmdebstrap (once per package list; about 2 minutes)"
    mkdir -p "$cache"
    # No man pages, locales or docs (a smaller initramfs boots faster under TCG), except fieldlink's:
    # the unit's Documentation= points at its README.
    mmdebstrap --variant=apt --include="$packages" \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/fieldlink/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' --aptopt='Acquire::Retries "3"' \
        bookworm "$work/root.tar" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
        "deb $security bookworm-security main" </dev/null >"$work/mmdebstrap.log" 2>&1 ||
        { tail -20 "$work/mmdebstrap.log" >&2; fail "mmdebstrap could not build the bookworm root (log above)"; }
    python3 scripts/systemd-vm/tar2cpio.py "$work/root.tar" "$base.partial" || fail "tar2cpio failed"
    rm -f "$work/root.tar" "$cache"/bookworm-*.cpio
    mv "$base.partial" "$base"
    say "base root cached: $base ($(du -m "$base" | cut -f1) MB)"
fi

# ---- 3. What this run adds on top: the two packages, the scenario, the guest's settings.
overlay=$work/overlay
mkdir -p "$overlay"/{root,usr/local/lib/fieldlink-test,etc/systemd/system/multi-user.target.wants,etc/mosquitto/conf.d}
cp "$deb" "$overlay/root/"
# The upgrade: the same files with a higher version, repacked (no second release build).
mkdir "$work/repack"
dpkg-deb -R "$deb" "$work/repack/pkg"
upgrade_version="$version+systemdtest1"
sed -i "s/^Version: .*/Version: $upgrade_version/" "$work/repack/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -z1 -b "$work/repack/pkg" "$overlay/root/fieldlink_${upgrade_version}_amd64.deb" >/dev/null
rm -rf "$work/repack"
test=$overlay/usr/local/lib/fieldlink-test
cp scripts/systemd-vm/scenario.sh scripts/systemd-vm/config-*.yaml "$test/"
cp "$kernel_cache"/{i2c-smbus,i2c-dev,i2c-piix4}.ko "$test/"
cat >"$overlay/etc/systemd/system/fieldlink-scenario.service" <<'EOF'
[Unit]
Description=fieldlink deployment scenario (scripts/test-systemd.sh; test only)
After=multi-user.target mosquitto.service

[Service]
Type=oneshot
ExecStart=/usr/local/lib/fieldlink-test/scenario.sh
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/fieldlink-scenario.service "$overlay/etc/systemd/system/multi-user.target.wants/"
# Masked: the console's login prompts, and apt's timers (they would hold the dpkg lock the scenario needs).
# Time sync too (not in the base root, masked should it ever be): the scenario sets the clock itself.
for unit in serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer systemd-timesyncd.service; do
    ln -s /dev/null "$overlay/etc/systemd/system/$unit"
done
echo vm >"$overlay/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vm\n::1 localhost\n' >"$overlay/etc/hosts"
cat >"$overlay/etc/mosquitto/conf.d/fieldlink-test.conf" <<'EOF'
# 1883: anonymous (the fresh install, the test's subscribers); 1884: password only (the credential).
per_listener_settings true
listener 1883 127.0.0.1
allow_anonymous true
listener 1884 127.0.0.1
allow_anonymous false
password_file /etc/mosquitto/fieldlink-test.passwd
EOF
mosquitto_passwd -c -b "$overlay/etc/mosquitto/fieldlink-test.passwd" fieldlink s3cret >/dev/null
chmod 0644 "$overlay/etc/mosquitto/fieldlink-test.passwd"
find "$overlay" -type d -exec chmod 0755 {} + && chmod 0700 "$overlay/root"
chmod 0755 "$test/scenario.sh"
# Appended to the base: the kernel unpacks concatenated cpio archives in order, later files win.
(cd "$overlay" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/overlay.cpio"
cat "$base" "$work/overlay.cpio" >"$work/initrd.cpio"

# time-corrected: the k-th meter1 message the guest collected from the first start on (`FLTEST TIME
# msg SEQ TS QUALITY`) must carry the host time of the k-th meter1 poll the simulator heard (unit 1,
# address 0; its log has the host's monotonic time) within 1 s; seq consecutive, ts in order, none
# marked unsynced, and at least 3 taken before the guest's clock was set (`FLTEST TIME sync HOST_MS`).
judge_time_corrected() {
    local sync offset
    sync=$(tr -d '\r' <"$work/console.log" | sed -n 's/.*FLTEST TIME sync \([0-9]*\).*/\1/p' | head -1)
    if [[ -z $sync || ! -s $work/requests.log ]]; then
        echo "FLTEST FAIL time-corrected: the guest did not set its clock from the host's (no TIME sync line) or the simulator heard nothing"
        return
    fi
    offset=$(python3 -c 'import time; print(time.time_ns() // 10**6 - time.monotonic_ns() // 10**6)')
    { awk -v off="$offset" '$1 == 1 && $3 == 0 { printf "poll %.0f\n", $5 / 1000 + off }' "$work/requests.log"
      tr -d '\r' <"$work/console.log" | grep -a 'FLTEST TIME msg ' | sed 's/.*FLTEST TIME msg /msg /'
    } | awk -v sync="$sync" '
        $1 == "poll" { poll[++polls] = $2; next }
        { seq = $2; ts = $3; n++
          if (n > 1 && seq != last + 1) bad = bad " seq " last "->" seq
          if (n > 1 && ts < last_ts) bad = bad " ts goes back at seq " seq
          if ($4 != "-") bad = bad " seq " seq " marked " $4
          last = seq; last_ts = ts
          if (n > polls) { bad = bad " seq " seq " has no poll"; next }
          error = ts - poll[n]; if (error < 0) error = -error; if (error > worst) worst = error
          if (error > 1000) bad = bad sprintf(" seq %s is %.0f ms from its poll", seq, ts - poll[n])
          if (ts < sync) held++ }
        END { if (held < 3) bad = bad " only " held + 0 " held"
              line = sprintf("%d readings, %d of them held until the clock was set; ts at most %.0f ms from the host time of its poll", n, held, worst)
              if (bad == "") print "FLTEST PASS time-corrected " line; else print "FLTEST FAIL time-corrected: " line ";" bad }'
}

# ---- 4. Boot, with the simulator on the guest's second serial port.
cat >"$work/image.json" <<'EOF'
{"units": {"1": [{"table": "holding", "address": 0, "type": "float32", "value": 230.5},
                 {"table": "holding", "address": 6, "type": "uint32", "order": "CDAB", "value": 123456}]}}
EOF
say "booting the guest (TCG)"
boot=$SECONDS
# ttyS1 is a host pty; the simulator opens it with no parity (a pty has no line settings, and this
# host's kernel refuses PARENB on one); the guest's emulated 16550 is set to 19200 8E1 by fieldlink.
# The RTC starts 21 days behind (a board whose fake-hwclock is three weeks old); ttyS2 is the host's clock.
rtc_behind_days=21
qemu-system-x86_64 -M pc -accel tcg -m 2048 -smp 2 -kernel "$kernel_cache/vmlinux" -initrd "$work/initrd.cpio" \
    -rtc base="$(date -u -d "-$rtc_behind_days days" +%Y-%m-%dT%H:%M:%S)" \
    -append "console=ttyS0 rdinit=/lib/systemd/systemd panic=-1 quiet" \
    -display none -nodefaults -no-user-config -nic none -no-reboot -monitor none \
    -serial "file:$work/console.log" -serial pty -serial pty </dev/null >"$work/qemu.log" 2>&1 &
qemu_pid=$!
pty="" clock_pty=""
guest_pty() { sed -n "s|.*char device redirected to \\(/dev/pts/[0-9]*\\) (label $1).*|\\1|p" "$work/qemu.log" 2>/dev/null; }
for _ in $(seq 100); do
    pty=$(guest_pty serial1) clock_pty=$(guest_pty serial2)
    [[ -n $pty && -n $clock_pty ]] && break
    kill -0 "$qemu_pid" 2>/dev/null || break
    sleep 0.1
done
[[ -n $pty && -n $clock_pty ]] || fail "QEMU did not give the guest's ttyS1 and ttyS2 a pty: $(cat "$work/qemu.log")"
# Every request, with the host's monotonic time: the true time of each meter1 poll (time-corrected).
python3 scripts/modbus_sim.py --port "$pty" --parity N --image "$work/image.json" --log-requests "$work/requests.log" \
    >"$work/sim.log" 2>&1 &
sim_pid=$!
python3 scripts/systemd-vm/host_clock.py "$clock_pty" >"$work/clock.log" 2>&1 &
clock_pid=$!

deadline=$((SECONDS + ${FIELDLINK_SYSTEMD_VM_TIMEOUT:-360}))
shown=0
while kill -0 "$qemu_pid" 2>/dev/null && ((SECONDS < deadline)); do
    if [[ -f $work/console.log ]]; then
        mapfile -t lines < <(tr -d '\r' <"$work/console.log" | grep -a 'FLTEST ')
        for ((i = shown; i < ${#lines[@]}; i++)); do [[ ${lines[i]} == *'FLTEST TIME msg '* ]] || say "guest: ${lines[i]#*FLTEST }"; done
        shown=${#lines[@]}
        if grep -aq 'FLTEST END' "$work/console.log"; then break; fi
    fi
    kill -0 "$sim_pid" 2>/dev/null || fail "the Modbus simulator died: $(cat "$work/sim.log")"
    sleep 1
done
ended=$(grep -ac 'FLTEST END' "$work/console.log" || true)
# The guest powers itself off after END; give it a few seconds, then stop QEMU.
for _ in $(seq 100); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
guest_time=$((SECONDS - boot))

# ---- 5. The verdict: a PASS line for every check.
console=$(tr -d '\r' <"$work/console.log")
console+=$'\n'$(judge_time_corrected)
say "host: $(tail -1 <<<"$console" | sed 's/^FLTEST //')"
failed=0
for check in "${checks[@]}"; do
    if grep -aq "FLTEST PASS $check\( \|$\)" <<<"$console"; then continue; fi
    failed=$((failed + 1))
    reason=$(grep -a "FLTEST FAIL $check:" <<<"$console" | head -1 | sed 's/.*FLTEST FAIL [^:]*: //' || true)
    echo "test-systemd: FAIL $check: ${reason:-no result (the scenario did not get there)}" >&2
done
if ((!ended)); then
    echo "test-systemd: the guest did not finish the scenario within ${FIELDLINK_SYSTEMD_VM_TIMEOUT:-360} s; last console lines:" >&2
    tail -25 <<<"$console" | sed 's/^/    /' >&2
fi
if ((failed || !ended)); then
    mkdir -p "$cache" && cp "$work/console.log" "$cache/last-console.log"
    fail "$failed of ${#checks[@]} checks failed (guest console: $cache/last-console.log)"
fi
say "PASS: all ${#checks[@]} checks under systemd $(sed -n 's/.*FLTEST BOOTED.*systemd=\([0-9]*\).*/\1/p' <<<"$console" | head -1), guest ${guest_time} s, total $((SECONDS - begun)) s"
