#!/bin/bash
# The deployment scenario, run inside the Debian bookworm guest booted by scripts/test-systemd.sh, as
# root, by fieldlink-scenario.service once multi-user.target is reached. Everything it learns goes to
# the serial console as `FLTEST PASS <check> ...` / `FLTEST FAIL <check>: <why>` lines; the host
# requires a PASS line for every check it knows, so a scenario that dies half-way fails the test.
# Ends with `FLTEST END` and powers the guest off.
set -u
exec >/dev/ttyS0 2>&1
here=/usr/local/lib/fieldlink-test
export SYSTEMD_PAGER= SYSTEMD_COLORS=0 DEBIAN_FRONTEND=noninteractive

say() { echo "FLTEST $*"; }
pass() { say "PASS $1${2:+ $2}"; }
fail() { say "FAIL $1: $2"; }
# check NAME DETAIL COMMAND...: PASS when the command succeeds, FAIL with DETAIL otherwise.
check() {
    local name=$1 detail=$2
    shift 2
    if "$@"; then pass "$name"; else fail "$name" "$detail"; fi
}
show() { systemctl show -p "$1" --value fieldlink.service; }
# wait_for SECONDS COMMAND...: polls every 0.5 s until the command succeeds; false on timeout.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}
journal() { journalctl --no-pager -q -u fieldlink.service "$@"; }
# One message on TOPIC at the guest's broker (anonymous listener), within SECONDS.
one_message() { mosquitto_sub -h 127.0.0.1 -p 1883 -t "$1" -C 1 -W "$2" 2>/dev/null; }
pending() { fieldlink buffer inspect --config /etc/fieldlink/fieldlink.yaml 2>/dev/null | sed -n 's/^pending: \([0-9]*\) record.*/\1/p'; }
finish() {
    say "END uptime=$(cut -d' ' -f1 /proc/uptime)"
    systemctl poweroff --no-block
    exit 0
}
trap finish EXIT

say "BOOTED uptime=$(cut -d' ' -f1 /proc/uptime) system=$(systemctl is-system-running) systemd=$(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')"

# ---- The hardware: the PIIX4 SMBus adapter with sensor images in its EEPROMs (as the I2C test does),
# and /dev/ttyS1, a host pty with the pymodbus simulator behind it.
for module in i2c-smbus i2c-dev i2c-piix4; do insmod "$here/$module.ko" || say "NOTE insmod $module failed"; done
udevadm settle -t 10
i2c=$(for a in /sys/class/i2c-adapter/i2c-*; do grep -q PIIX4 "$a/name" && basename "$a"; done | head -1)
say "NOTE adapter /dev/$i2c ($(stat -c '%G %a' "/dev/$i2c" 2>&1)), ttyS1 $(stat -c '%G %a' /dev/ttyS1)"
set_bytes() { local a=$1 r=$2; shift 2; for b in "$@"; do i2cset -y "${i2c#i2c-}" "$a" "$r" "$b" b; r=$(printf 0x%02x $((r + 1))); done; }
set_bytes 0x50 0x00 0xf3 0xc0 # TMP102: -12.25 °C
set_bytes 0x51 0x00 0x55 0x20 # LM75A (11-bit): 85.125 °C
sed -i "s|/dev/i2c-0|/dev/$i2c|" "$here"/config-*.yaml

# ---- 1. Install as a user does: apt-get install ./fieldlink_….deb; no password file; edit the config.
deb=$(ls /root/fieldlink_*.deb | grep -v systemdtest | head -1)
upgrade=$(ls /root/fieldlink_*systemdtest*.deb | head -1)
if (cd /root && apt-get install -y -q "./$(basename "$deb")") >/tmp/apt-install.log 2>&1; then
    pass install "$(dpkg-query -W -f='${Version}' fieldlink)"
else
    fail install "apt-get install ./$(basename "$deb") failed: $(tail -5 /tmp/apt-install.log | tr '\n' ' ')"
fi
check not-started-by-install "the package started the service (it must wait for the edited config)" \
    test "$(show ActiveState)" = inactive
check no-password-file "/etc/fieldlink/mqtt-password exists on a fresh install" test ! -e /etc/fieldlink/mqtt-password
cp "$here/config-anonymous.yaml" /etc/fieldlink/fieldlink.yaml
# The guest booted with its RTC 21 days behind and no time sync (a board whose fake-hwclock is weeks
# old, offline). Its one source of the true time is the host's clock on ttyS2 (host_clock.py), as the
# NTP server such a board would reach once its network is up.
exec 7<>/dev/ttyS2 && stty raw -echo <&7 || say "NOTE cannot open /dev/ttyS2 (the host's clock)"
# host_offset: "OFFSET RTT": the host's time minus this clock's at the middle of the round trip (ms).
host_offset() {
    local before after reply attempt
    for attempt in 1 2 3; do
        while read -r -t 0.1 _ <&7; do :; done # a late answer to an earlier try
        before=${EPOCHREALTIME/./}
        echo 'time?' >&7
        IFS= read -r -t 3 reply <&7 || continue
        after=${EPOCHREALTIME/./}
        reply=${reply//[!0-9]/}
        [[ -n $reply ]] || continue
        echo "$((reply - (before + after) / 2000)) $(((after - before) / 1000))"
        return 0
    done
    return 1
}
read -r behind rtt < <(host_offset) && say "NOTE the guest's clock is $behind ms behind the host's (asked in $rtt ms)"
# Everything meter1 publishes from its first start on, for time-held and time-corrected.
mosquitto_sub -h 127.0.0.1 -p 1883 -q 1 -t fieldlink/gw-vm/meter1 >/tmp/time.msgs 2>/dev/null &
time_sub=$!
sleep 0.5
started=$SECONDS
if systemctl enable --now fieldlink.service 2>/tmp/enable.err && test "$(show SubState)" = running; then
    pass fresh-start "active (running) after $((SECONDS - started)) s, NRestarts=$(show NRestarts)"
else
    fail fresh-start "not running: $(show ActiveState)/$(show SubState) result=$(show Result) status=$(show ExecMainStatus); $(journal -n 8 | tr '\n' '|')"
fi

# ---- 1b. Time: held while the clock is unsynchronised; once it is set from the host's, the held
# readings go out with their true ts (judged on the host, which knows when each poll happened).
sleep 5
clock=$(fieldlink status --config /etc/fieldlink/fieldlink.yaml 2>&1 | grep '^clock:')
held=$(sed -n 's/^clock: not synchronised, \([0-9]*\) reading.*/\1/p' <<<"$clock")
if [[ ${behind:-0} -gt $((20 * 86400000)) && ! -s /tmp/time.msgs && ${held:-0} -ge 3 ]]; then
    pass time-held "nothing published with the clock $((behind / 86400000)) days behind; status: $clock"
else
    fail time-held "clock ${behind:-?} ms behind, published before sync: $(head -2 /tmp/time.msgs | tr '\n' ' '); status: ${clock:-none}"
fi
if read -r offset rtt < <(host_offset); then
    # Stepped by the offset from the moment date runs (starting date takes a good part of a second here).
    step=${offset#-}
    date -s "$( ((offset < 0)) && echo - || echo +)$((step / 1000)).$(printf %03d $((step % 1000))) seconds" >/dev/null
    synced_ms=$((${EPOCHREALTIME/./} / 1000))
    mkdir -p /run/systemd/timesync && touch /run/systemd/timesync/synchronized
    say "TIME sync $synced_ms"
    read -r residual rtt < <(host_offset) && say "NOTE the guest's clock set from the host's: now $residual ms off (asked in $rtt ms)"
    # The held readings go out in order, ahead of the first one taken after the sync.
    after_sync() { grep -o '"ts":[0-9]*' /tmp/time.msgs | awk -F: -v s="$synced_ms" '$2 > s { found = 1 } END { exit !found }'; }
    wait_for 15 after_sync || say "NOTE no meter1 reading taken after the sync arrived within 15 s"
else
    say "NOTE no answer from the host's clock on ttyS2: the guest's clock stays wrong"
fi
kill "$time_sub" 2>/dev/null
wait "$time_sub" 2>/dev/null
while IFS= read -r line; do
    [[ $line =~ \"seq\":([0-9]+) ]] && seq=${BASH_REMATCH[1]} || seq="?"
    [[ $line =~ \"ts\":([0-9]+) ]] && ts=${BASH_REMATCH[1]} || ts="?"
    [[ $line =~ \"ts_quality\":\"([a-z]+)\" ]] && quality=${BASH_REMATCH[1]} || quality="-"
    say "TIME msg $seq $ts $quality"
done </tmp/time.msgs
journal | grep -E 'stepped|synchronised' | tail -2 | sed 's/^/FLTEST NOTE /'
message=$(one_message fieldlink/gw-vm/meter1 40)
check reading-modbus "no meter1 reading with voltage 230.5 at the guest's broker within 40 s (got: ${message:-nothing})" \
    grep -q '"voltage":230.5' <<<"$message"
message=$(one_message fieldlink/gw-vm/cold 20)
check reading-i2c "no TMP102 reading of -12.25 from /dev/$i2c within 20 s (got: ${message:-nothing})" \
    grep -q '"temperature":-12.25' <<<"$message"
check no-restart-loop "NRestarts=$(show NRestarts) after a fresh start" test "$(show NRestarts)" = 0
pid=$(show MainPID)
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
groups=$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$pid/status")
dialout=$(getent group dialout | cut -d: -f3)
say "NOTE uid=$uid groups=$groups memory=$(show MemoryCurrent) bytes"
check dynamic-user "runs as uid $uid with groups$groups (want a DynamicUser= uid in 61184-65519 and dialout $dialout)" \
    bash -c '(( $1 >= 61184 && $1 <= 65519 )) && [[ " $2 " == *" $3 "* ]]' - "$uid" "$groups" "$dialout"

# ---- 2. READY, STATUS and the watchdog, seen by the manager. The packaged WatchdogSec=30s is shortened
# by a drop-in to keep the run short (the daemon derives its own heartbeat bounds from WATCHDOG_USEC).
status=$(show StatusText)
check status "STATUS= not seen by systemd: '$status'" grep -q 'device(s)' <<<"$status"
mkdir -p /etc/systemd/system/fieldlink.service.d
printf '[Service]\nWatchdogSec=8s\n' >/etc/systemd/system/fieldlink.service.d/zz-test-watchdog.conf
systemctl daemon-reload
systemctl restart fieldlink.service
check ready "Type=notify start did not complete: $(show ActiveState)/$(show SubState)" test "$(show SubState)" = running
first=$(show WatchdogTimestampMonotonic)
sleep 6
second=$(show WatchdogTimestampMonotonic)
check watchdog-pings "WatchdogTimestamp did not move in 6 s ($first -> $second): no WATCHDOG=1 reached systemd" \
    test "$second" -gt "$first"
pid=$(show MainPID)
restarts=$(show NRestarts)
kill -STOP "$pid"
stopped=$SECONDS
restarted() { local now; now=$(show MainPID); [[ $now != 0 && $now != "$pid" && $(show SubState) == running ]]; }
if wait_for 60 restarted; then
    if journal | grep -q 'Watchdog timeout'; then
        pass watchdog-restart "SIGSTOPped daemon restarted by systemd after $((SECONDS - stopped)) s (NRestarts $restarts -> $(show NRestarts))"
    else
        fail watchdog-restart "restarted, but the journal has no 'Watchdog timeout'"
    fi
else
    fail watchdog-restart "no restart within 60 s of SIGSTOP: $(show ActiveState)/$(show SubState) MainPID=$(show MainPID); $(journal -n 6 | tr '\n' '|')"
fi
rm /etc/systemd/system/fieldlink.service.d/zz-test-watchdog.conf
systemctl daemon-reload

# ---- 3. The journal: structured fields, and no libdispatch noise.
# One entry with all three fields: the dead meter's state change.
# (-o json: one line per entry; -o export writes binary fields whose length bytes can break lines.)
entries=$(journalctl --no-pager -u fieldlink.service DEVICE=dead -o json |
    grep -a '"DEVICE":"dead"' | grep -a '"BUS":"rs485"' | grep -ac '"PRIORITY":"[0-7]"')
check journal-fields "no journal entry with DEVICE=dead, BUS=rs485 and PRIORITY= together" test "$entries" -gt 0
# The README's recipe for one device's problems: journalctl -u fieldlink DEVICE=meter1 -p warning.
warnings=$(journalctl --no-pager -q -u fieldlink.service DEVICE=dead -p warning -o cat)
check journal-device-warning "journalctl -u fieldlink DEVICE=dead -p warning shows nothing for the dead meter" test -n "$warnings"
journalctl --no-pager -u fieldlink.service DEVICE=dead -n 1 -o export | grep -aE '^(PRIORITY|DEVICE|BUS|MESSAGE)=' | tr '\n' ' ' | sed 's/^/FLTEST NOTE /; s/$/\n/'

# ---- 4. The credential. First a config that names password_file: while no file exists: refused, once.
cp "$here/config-password.yaml" /etc/fieldlink/fieldlink.yaml
systemctl restart fieldlink.service 2>/dev/null
sleep 7 # longer than RestartSec=5s: a restart loop would show (a manual restart resets NRestarts to 0)
if [[ $(show ActiveState) == failed && $(show ExecMainStatus) == 78 && $(show NRestarts) == 0 ]]; then
    pass password-required "refused with status 78 (EX_CONFIG), not restarted"
else
    fail password-required "a config naming password_file: with no password file: $(show ActiveState)/$(show SubState) result=$(show Result) status=$(show ExecMainStatus) NRestarts=$(show NRestarts)"
fi
journal -n 20 | grep -i 'password' | tail -1 | sed 's/^/FLTEST NOTE /'
install -m 0600 /dev/null /etc/fieldlink/mqtt-password
echo s3cret >/etc/fieldlink/mqtt-password
systemctl reset-failed fieldlink.service
systemctl restart fieldlink.service
message=$(one_message fieldlink/gw-vm/meter1 30)
if [[ -n $message && -s /run/credentials/fieldlink.service/mqtt-password ]]; then
    pass credential "authenticated to the password-only listener with the copy in \$CREDENTIALS_DIRECTORY"
else
    fail credential "no reading through the password-only listener (1884): $(show SubState); $(journal -n 6 | tr '\n' '|')"
fi

# ---- 5. Reload: a config that changes the I2C bus only.
pid=$(show MainPID)
cp "$here/config-reload.yaml" /etc/fieldlink/fieldlink.yaml
systemctl reload fieldlink.service
reloaded() { journalctl --no-pager -q _PID="$pid" | grep -q 'reloaded: bus(es) header (re)started, 1 bus(es) unchanged'; }
if wait_for 20 reloaded && [[ $(show MainPID) == "$pid" ]]; then
    ttys=$(journalctl --no-pager -q _PID="$pid" | grep -c 'polling .* on /dev/ttyS1')
    message=$(one_message fieldlink/gw-vm/hot 20)
    if [[ $ttys == 1 && $message == *'"t":85.125'* ]]; then
        pass reload "header restarted with the new device, rs485 left running, same PID"
    else
        fail reload "rs485 started $ttys times in this process (want 1); hot device: ${message:-nothing}"
    fi
else
    fail reload "no 'reloaded: bus(es) header (re)started, 1 bus(es) unchanged' from PID $pid: $(journal -n 6 | tr '\n' '|')"
fi

# ---- 9 (before the upgrade and purge change the unit): the live system's exposure score.
score=$(systemd-analyze security --no-pager fieldlink.service 2>&1 | sed -n 's/.*Overall exposure level for fieldlink.service: \([0-9.]*\).*/\1/p')
check security "systemd-analyze security on the live system: '${score:-no score}' (want <= 1.9)" \
    awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 1.9) }'
say "NOTE exposure ${score:-?}"

# ---- 6. Stop: drains and exits cleanly within TimeoutStopSec.
started=$SECONDS
systemctl stop fieldlink.service
took=$((SECONDS - started))
timeout=$(show TimeoutStopUSec)
if [[ $(show Result) == success && $(show ExecMainCode) == 1 && $(show ExecMainStatus) == 0 ]] && ((took < 30)); then
    pass stop "exited 0 in ${took} s (TimeoutStopSec $timeout)"
else
    fail stop "result=$(show Result) code=$(show ExecMainCode) status=$(show ExecMainStatus) after ${took} s (TimeoutStopSec $timeout)"
fi

# ---- 7. Upgrade during a broker outage: the ring and /etc/fieldlink survive, the backlog is delivered.
systemctl start fieldlink.service
one_message fieldlink/gw-vm/meter1 20 >/dev/null
# A persistent QoS 1 session at the broker collects what arrives while this subscriber is away.
mosquitto_sub -h 127.0.0.1 -p 1883 -i fl-backlog -c -q 1 -t fieldlink/gw-vm/meter1 -E 2>/dev/null
systemctl stop mosquitto.service
outage_start=$(date +%s%3N)
sleep 8
before=$(pending)
config_before=$(sha256sum /etc/fieldlink/fieldlink.yaml)
pid=$(show MainPID)
upgrade_start=$(date +%s%3N)
if (cd /root && apt-get install -y -q "./$(basename "$upgrade")") >/tmp/apt-upgrade.log 2>&1; then
    version=$(dpkg-query -W -f='${Version}' fieldlink)
    [[ $version == *systemdtest* ]] && pass upgrade-install "now $version" || fail upgrade-install "dpkg says $version"
else
    fail upgrade-install "apt-get install of the higher version failed: $(tail -5 /tmp/apt-upgrade.log | tr '\n' ' ')"
fi
after=$(pending)
if [[ $(show MainPID) != "$pid" && $(show SubState) == running && $config_before == "$(sha256sum /etc/fieldlink/fieldlink.yaml)" \
      && -s /etc/fieldlink/mqtt-password && ${before:-0} -gt 0 && ${after:-0} -gt 0 ]]; then
    pass upgrade-keeps "restarted by the postinst, config and password kept, ring $before -> $after pending"
else
    fail upgrade-keeps "running=$(show SubState) pid $pid -> $(show MainPID), ring ${before:-?} -> ${after:-?} pending, config $( [[ $config_before == "$(sha256sum /etc/fieldlink/fieldlink.yaml)" ]] && echo kept || echo changed)"
fi
systemctl start mosquitto.service
drained() { [[ $(pending) == 0 ]]; }
wait_for 60 drained
backlog=$(mosquitto_sub -h 127.0.0.1 -p 1883 -i fl-backlog -c -q 1 -t fieldlink/gw-vm/meter1 -W 5 2>/dev/null)
# Readings the old version took during the outage, before the upgrade began: they can only arrive
# through the ring that the new version recovered.
in_outage=$(grep -o '"ts":[0-9]*' <<<"$backlog" | cut -d: -f2 | awk -v a="$outage_start" -v b="$upgrade_start" '$1 >= a && $1 < b' | wc -l)
seqs=$(grep -o '"seq":[0-9]*' <<<"$backlog" | cut -d: -f2 | sort -n | uniq)
gaps=$(awk 'NR > 1 && $1 != last + 1 { n++ } { last = $1 } END { print n + 0 }' <<<"$seqs")
if [[ $(pending) == 0 && $in_outage -ge 5 && $gaps == 0 ]]; then
    pass upgrade-backlog "$in_outage readings the old version took during the outage delivered by the new one, seq without gaps"
else
    fail upgrade-backlog "pending=$(pending), $in_outage readings from before the upgrade delivered (want >= 5), $gaps seq gap(s): $(tr '\n' ' ' <<<"$seqs")"
fi

# ---- 8. Purge: the state directory, the config and the service's user go; the password stays.
if apt-get purge -y -q fieldlink >/tmp/apt-purge.log 2>&1; then pass purge; else fail purge "$(tail -5 /tmp/apt-purge.log | tr '\n' ' ')"; fi
left=""
for path in /var/lib/fieldlink /var/lib/private/fieldlink /etc/fieldlink/fieldlink.yaml /lib/systemd/system/fieldlink.service /usr/bin/fieldlink; do
    [[ -e $path || -L $path ]] && left+=" $path"
done
getent passwd fieldlink >/dev/null && left+=" user:fieldlink"
getent group fieldlink >/dev/null && left+=" group:fieldlink"
grep -q '^fieldlink:' /etc/passwd /etc/group && left+=" /etc/passwd-or-group:fieldlink"
check purge-clean "left behind after purge:$left" test -z "$left"
check purge-keeps-password "/etc/fieldlink/mqtt-password was deleted (the README says it stays)" test -s /etc/fieldlink/mqtt-password

# ---- Last, over every start of this boot: no thread priority noise from the Swift runtime.
noise=$(journalctl --no-pager -b | grep -c 'Failed to set thread priority')
check no-priority-noise "$noise journal line(s) 'Failed to set thread priority' this boot" test "$noise" = 0
journalctl --no-pager -b | grep 'Failed to set thread priority' | head -2 | sed 's/^/FLTEST NOTE /'
