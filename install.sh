#!/usr/bin/env bash
# Install everything ovnguard and its tests need on Debian 12, idempotently:
#   - Debian packages: Open vSwitch 3.1 and OVN 23.03 (the lab runs them), iproute2, ping,
#     openssh-server + openssl (the SSH fan-out and SSL tests run real sshd / a test CA),
#     graphviz (the HTML report's picture), chromium (a test opens the HTML report in it),
#     netplan.io (a test validates the netplan YAML plans emit with `netplan generate`),
#     pipx (a test installs ovnguard with `pipx install .`, as an operator would)
#   - a virtualenv in .venv with ovnguard (editable) and its test tools
#   - /usr/local/bin/ovnguard -> .venv/bin/ovnguard (when run as root)
# Starts no daemon: the lab starts its own, by hand, in its own run directory.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive

need=()
for pkg in openvswitch-switch ovn-central ovn-host iproute2 iputils-ping openssh-server openssl python3-venv graphviz chromium netplan.io pipx; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install.sh: need root to install Debian packages: ${need[*]}" >&2
    exit 2
  fi
  echo "install.sh: installing Debian packages: ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The packages' init scripts may start system daemons where systemd runs; the lab never
  # uses them, and a system ovs-vswitchd would compete for the same resources.
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.ovnguard-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import ovnguard, typer' # fail loudly if the install did not
  touch "$stamp"
fi
if [[ $(id -u) -eq 0 && -w /usr/local/bin ]]; then
  ln -sf "$PWD/.venv/bin/ovnguard" /usr/local/bin/ovnguard
fi
echo "install.sh: ready ($(.venv/bin/ovnguard --version); $(ovn-nbctl --version | head -1))"
