#!/usr/bin/env bash
# Installs what fieldlink needs on Debian / Raspberry Pi OS: `runtime` for building and running the
# demo, `deb` for building the Debian package as well (`make deb`), `test` for the test suite (which
# builds the package too). Idempotent: installs only what is missing.
set -euo pipefail

what=${1:-runtime}
apt_packages=(pkg-config libmodbus-dev libmosquitto-dev libssl-dev libsystemd-dev libyaml-dev mosquitto mosquitto-clients socat python3 python3-pip)
pip_packages=("pymodbus==3.16.*" "pyserial>=3.5")
if [[ $what == test ]]; then
    # cryptography: the TLS tests issue an already-expired certificate, which the openssl CLI cannot;
    # cbor2: an independent CBOR decoder for the payload tests.
    # prometheus_client: its text-format parser reads the metrics textfile in the tests.
    # tahu: Eclipse Tahu's Sparkplug B bindings (the spec's schema, with the protobuf runtime it pins).
    pip_packages+=("paho-mqtt>=2" "cryptography>=41" "cbor2>=5" "tahu==0.1.2" "prometheus_client>=0.17")
    # systemd: systemd-journald, journalctl and systemd-analyze for the deployment tests;
    # util-linux: unshare/nsenter, which give the journald test a private /run/systemd;
    # openssl: the TLS tests make their own CA and certificates.
    apt_packages+=(systemd util-linux openssl)
    # The real-kernel I2C test: an x86 QEMU guest (TCG) with the host's static busybox in a cpio initramfs.
    apt_packages+=(qemu-system-x86 busybox-static cpio)
    # The systemd deployment test (scripts/test-systemd.sh): mmdebstrap builds its Debian 12 root.
    apt_packages+=(mmdebstrap)
    # A second broker that is not mosquitto: RabbitMQ's MQTT plugin (3.1.1 only, no QoS 2), started
    # by the tests on their own node name and ports (the package's own service is not started).
    apt_packages+=(rabbitmq-server)
    # A third broker, Python's amqtt (3.1.1 only; it misreads an MQTT 5 CONNECT and never answers):
    # version auto must fall back to 3.1.1 on it by the connect timeout.
    pip_packages+=("amqtt==0.12.*")
fi
if [[ $what == test || $what == deb ]]; then
    # dpkg-dev: dpkg-shlibdeps, which turns the binary's shared libraries into the package's Depends:.
    apt_packages+=(dpkg-dev)
fi

sudo=""
if [[ $(id -u) != 0 ]]; then sudo="sudo"; fi

missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "install-deps: apt-get install ${missing[*]}" >&2
    $sudo apt-get update -qq
    # RUNLEVEL=1: packages' own services (rabbitmq-server, mosquitto) are not started; tests start their own.
    RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
    echo "install-deps: the Swift 6 toolchain is not on PATH (install it from swift.org and add its usr/bin to PATH)" >&2
    exit 1
fi

# pip refuses to touch a Debian-managed Python without this flag; our packages are leaf packages.
pip_flags=(-q --disable-pip-version-check)
if python3 -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
    [[ -n ${VIRTUAL_ENV:-} ]] || pip_flags+=(--break-system-packages)
fi
if ! python3 - "${pip_packages[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
wanted = {"pymodbus": "3.16", "pyserial": "", "paho-mqtt": "", "tahu": "0.1.2"}
for spec in sys.argv[1:]:
    name = spec.split("=")[0].split(">")[0]
    have = version(name)
    if not have.startswith(wanted.get(name, "")):
        sys.exit(1)
PY
then
    echo "install-deps: pip install ${pip_packages[*]}" >&2
    python3 -m pip install "${pip_flags[@]}" "${pip_packages[@]}"
fi

if [[ $what == test ]]; then
    # The pinned Debian kernel and i2c modules the real-kernel I2C test boots (cached outside the repo).
    "$(dirname "$0")/fetch-qemu-i2c-kernel.sh"
fi
