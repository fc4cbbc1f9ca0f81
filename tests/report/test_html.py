"""The HTML report's picture as DOT (report/html.py), without a browser: hosts of one shape
are one box however their tunnel ports and VIF counts differ, and the picture speaks the
report's language. (tests/report/test_html_chromium.py opens the page in Chromium.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovnguard import i18n
from ovnguard.cli.demo import example_dir
from ovnguard.report.html import topology_dot
from ovnguard.report.schema import Report

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")


@pytest.fixture(scope="module")
def seed() -> Report:
    p = subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change",
                        str(EX / "change-corrected.sh"), "-f", "json", "--lang", "en"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    return Report.model_validate(json.loads(p.stdout))


@pytest.fixture
def korean() -> Iterator[None]:
    i18n.set_language("ko")
    try:
        yield
    finally:
        i18n.set_language("en")


def boxes(source: str) -> list[str]:
    return re.findall(r'label="([^"]*)" labeljust', source)


def test_hosts_whose_tunnel_ports_name_other_peers_are_one_box(seed: Report) -> None:
    # controller's br-int holds ovn-comput-0 and ovn-networ-0, network's ovn-comput-0 and
    # ovn-contro-0: ovn-controller names a tunnel port after its peer, so every host's
    # differ; the report counts them instead of listing them, and they do not make a host a
    # shape of its own.
    for h in ("controller", "network"):
        assert seed.topology[h].tunnel_ports == 2
        assert not [p for p in seed.topology[h].bridges["br-int"] if p.startswith("ovn-")]
    source, notes = topology_dot(seed)
    assert boxes(source) == ["compute1   LOSES MANAGEMENT", "controller, network"]
    assert notes == []


def test_a_fleet_with_tunnels_and_different_vif_counts_is_a_few_boxes(seed: Report) -> None:
    like = seed.topology["controller"]
    names = [f"compute{i:04d}" for i in range(1000)]
    many = {}
    for i, h in enumerate(names):
        tunnels = [f"ovn-{peer[:6]}-{j}" for j, peer in enumerate(names[i + 1:i + 4])]
        vifs = [f"tap{i:04d}-{v}" for v in range(i % 7)]
        many[h] = like.model_copy(update={
            "management": f"10.10.{i // 250}.{i % 250 + 1}/16",
            "bridges": {**like.bridges, "br-int": tunnels + vifs}})
    big = seed.model_copy(update={
        "topology": {**seed.topology, **many},
        "realization": {**seed.realization, **{h: seed.realization["controller"] for h in many}}})
    source, notes = topology_dot(big)
    assert notes == []
    # hosts with VIFs and the 143 without are the two shapes; each box says its range
    assert sorted(boxes(source)) == sorted([
        "compute1   LOSES MANAGEMENT", "controller, network",
        "compute0000, compute0007 … compute0994 (143 hosts)",
        "compute0001, compute0002 … compute0999 (857 hosts)"])
    assert "br-int\n1–6 VIFs" in source


def test_the_picture_speaks_korean(seed: Report, korean: None) -> None:
    source, _ = topology_dot(seed)
    for english in ("LOSES MANAGEMENT", "L2 LOOP", "management", "VIFs"):
        assert english not in source, english
    for korean in ("관리 접속 끊김", "L2 루프", "관리 LAN 10.10.0.0/24", "VIF 1개"):
        assert korean in source, korean
