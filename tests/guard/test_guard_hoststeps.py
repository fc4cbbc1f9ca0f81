"""A host change as the guard reads it (pure): which host, the steps in the order written,
what is refused with its line, and what host.json may hold."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from ovnguard.change import parse_change
from ovnguard.change.model import Change
from ovnguard.errors import InputError
from ovnguard.guard import hoststate
from ovnguard.guard.hoststeps import HostPlan, HostStep, host_target

REMOTE = "unix:/run/ovs/db.sock"


def _target(text: str, host: str | None = None) -> tuple[str | None, list[list[str]]]:
    found = host_target(parse_change(text, "c.sh"), host, lambda: REMOTE, 30)
    assert found is not None
    target, plan = found
    return target.host, [s.argv for s in plan.steps]


def test_ip_and_ovs_lines_in_the_order_written() -> None:
    host, steps = _target(
        "# host: compute1\n"
        "ovs-vsctl set Bridge br-ex other_config:hwaddr=bc:24:11:d8:07:71\n"
        "ovs-vsctl del-port br-ex enp6s18 && ip addr del 10.10.0.23/24 dev br-ex && "
        "ip a add 10.10.0.23/24 dev enp6s18\n"
        "ip -4 route replace default via 10.10.0.1 dev enp6s18\n")
    assert host == "compute1"
    assert steps == [
        ["ovs-vsctl", f"--db={REMOTE}", "--timeout=30", "--no-wait", "--", "set", "Bridge",
         "br-ex", "other_config:hwaddr=bc:24:11:d8:07:71"],
        ["ovs-vsctl", f"--db={REMOTE}", "--timeout=30", "--no-wait", "--", "del-port",
         "br-ex", "enp6s18"],
        ["ip", "addr", "del", "10.10.0.23/24", "dev", "br-ex"],
        ["ip", "a", "add", "10.10.0.23/24", "dev", "enp6s18"],
        ["ip", "-4", "route", "replace", "default", "via", "10.10.0.1", "dev", "enp6s18"],
    ]


def test_no_ip_line_is_not_a_host_change() -> None:
    assert host_target(parse_change("# host: c1\novs-vsctl add-br br-x\n", "c.sh"), None,
                       lambda: REMOTE, 30) is None


@pytest.mark.parametrize(("text", "line", "words"), [
    ("# host: c1\nip link add v0 type veth peer name v1\n", 2, "cannot re-create"),
    ("# host: c1\n\nip addr show\n", 3, "nothing to guard"),
    ("# host: c1\nip addr add 10.0.0.1/24 dev eth0\n# host: c2\nip link set eth0 up\n", 0,
     "several hosts"),
    ("ip addr add 10.0.0.1/24 dev eth0\n", 1, "'# host: NAME'"),
    ("# host: c1\nip addr add 10.0.0.1/24 dev eth0\novn-nbctl ls-add x\n", 0, "ovn-nbctl"),
    ("# host: c1\nip addr add 10.0.0.1/33 dev eth0\n", 2, "ip would refuse"),
])
def test_refused_with_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(InputError) as e:
        host_target(parse_change(text, "c.sh"), None, lambda: REMOTE, 30)
    assert words in str(e.value)
    if line:
        assert e.value.line == line


def test_a_host_state_file_alone_acts_on_the_default_host() -> None:
    """No lines: the host is --host (or this host); without one, the refusal has no line."""
    found = host_target(Change("h.yaml", ()), "c1", lambda: REMOTE, 30, host_state=True)
    assert found is not None and found[0].host == "c1"
    with pytest.raises(InputError, match="'# host: NAME'") as e:
        host_target(Change("h.yaml", ()), None, lambda: REMOTE, 30, host_state=True)
    assert (e.value.path, e.value.line) == ("h.yaml", None)


def test_host_json_runs_only_ip_and_the_guards_ovs_vsctl() -> None:
    with pytest.raises(ValidationError):
        HostStep(line=1, text="x", argv=["/bin/sh", "-c", "reboot"])
    with pytest.raises(ValidationError):
        HostStep(line=1, text="x", argv=["ovs-vsctl", "del-br", "br-ex"])  # no --db first
    with pytest.raises(ValidationError):
        HostPlan.model_validate({"host": "c1", "steps": [], "extra": 1})


def _backup(addr: list[dict[str, object]], route: list[dict[str, object]]
            ) -> hoststate.HostBackup:
    return hoststate.HostBackup(0.0, (), (), (), json.dumps(addr), json.dumps(route))


def test_verification_compares_ip_json_modulo_the_documented_fields() -> None:
    link = {"ifindex": 5, "ifname": "br-ex", "flags": ["UP"], "addr_info": [
        {"family": "inet", "local": "10.10.0.23", "prefixlen": 24,
         "valid_life_time": 4294967295, "preferred_life_time": 4294967295},
        {"family": "inet", "local": "10.10.0.99", "prefixlen": 24, "dynamic": True,
         "valid_life_time": 300, "preferred_life_time": 300},
        {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]}
    routes = [{"dst": "default", "gateway": "10.10.0.1", "dev": "br-ex"},
              {"dst": "fe80::/64", "dev": "br-ex", "protocol": "kernel"}]
    b = _backup([link], routes)
    # a re-created internal port (new ifindex), a lifetime counted down, DAD re-run: equal
    later = json.loads(json.dumps(link))
    later["ifindex"] = 9
    later["addr_info"][1]["valid_life_time"] = 290
    later["addr_info"][2]["tentative"] = True
    assert hoststate.differences(b, json.dumps([later]), json.dumps(routes[:1])) == []
    # a permanent address's lifetime, the order of addresses, a route: differences
    moved = json.loads(json.dumps(link))
    moved["addr_info"][:2] = moved["addr_info"][1::-1]
    diffs = hoststate.differences(b, json.dumps([moved]), "[]")
    assert any(d.startswith("link br-ex addr_info") for d in diffs)
    assert 'route gone: {"dst": "default", "gateway": "10.10.0.1", "dev": "br-ex"}' in diffs
