"""The HTML report opened in real headless Chromium: the hosts the change reaches, the host
that loses management and the loop are in the rendered DOM, and a screenshot is taken.

OVNGUARD_UPDATE_SCREENSHOTS=1 also writes the screenshot to docs/images/ (the README shows it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ovnguard.cli.demo import example_dir

EX = example_dir()
ROOT = Path(__file__).resolve().parents[2]
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (install.sh)")


def chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    # A profile of its own in the temp dir; no sandbox as root (CI runs as root).
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", f"--user-data-dir={cwd / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd)


def test_seed_report_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    p = subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change",
                        str(EX / "change-corrected.sh"), "-f", "html", "-o", str(page)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    dom = chromium("--dump-dom", page.as_uri(), cwd=tmp_path).stdout
    assert 'id="verdict"' in dom and "DANGEROUS" in dom
    # The per-host table: compute1 loses management; controller and network are reached.
    assert re.search(r'<tr class="lost" data-host="compute1">', dom)
    assert re.search(r'<tr class="blast" data-host="controller">', dom)
    # The picture: compute1's box marked lost, controller and network (of one shape) one box,
    # both in the blast radius, and the loop as two patch-pair edges (ln-physnet2 added,
    # Neutron's provnet) on compute1's br-ex.
    clusters = re.findall(r'<g id="clust\d+" class="cluster ([^"]+)">\s*<title>[^<]*</title>'
                          r'(?:(?!</g>).)*?<text[^>]*>([^<]+)</text>', dom, re.S)
    labels = {text.split("&nbsp;")[0].strip(): cls for cls, text in clusters}
    assert labels == {"compute1": "host blast lost", "controller, network": "host blast"}
    loops = re.findall(r'class="edge (patch[^"]*loop)"', dom)
    assert sorted(loops) == ["patch added loop", "patch loop"]
    shot = tmp_path / "report.png"
    chromium("--window-size=1200,900", f"--screenshot={shot}", page.as_uri(), cwd=tmp_path)
    assert shot.stat().st_size > 20_000
    if os.environ.get("OVNGUARD_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(shot, ROOT / "docs" / "images" / "report-seed.png")


def test_hostile_names_stay_text_in_chromium(tmp_path: Path) -> None:
    """A switch named like a script: Chromium's DOM has no element it would create."""
    bundle = tmp_path / "bundle"
    shutil.copytree(EX / "bundle", bundle)
    change = tmp_path / "c.sh"
    change.write_text("ovn-nbctl ls-add '<img src=x onerror=alert(1)>'\n"
                      "ovn-nbctl lsp-add '<img src=x onerror=alert(1)>' '<script>p</script>'\n"
                      "ovn-nbctl lsp-set-type '<script>p</script>' localnet\n")
    page = tmp_path / "report.html"
    p = subprocess.run([OVNGUARD, "check", "-b", str(bundle), "--change", str(change), "-f",
                        "html", "-o", str(page)], capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    dom = chromium("--dump-dom", page.as_uri(), cwd=tmp_path).stdout
    assert "<img" not in dom and "<script" not in dom
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom


def test_a_thousand_alike_hosts_are_one_box() -> None:
    """Hosts of the same shape are drawn once: a fleet stays one picture (no Chromium)."""
    import json

    from ovnguard.report.html import topology_dot
    from ovnguard.report.schema import Report

    p = subprocess.run([OVNGUARD, "check", "-b", str(EX / "bundle"), "--change",
                        str(EX / "change-corrected.sh"), "-f", "json"],
                       capture_output=True, text=True, timeout=120)
    r = Report.model_validate(json.loads(p.stdout))
    like = r.topology["controller"]
    many = {f"compute{i:04d}": like.model_copy(update={"management": f"10.10.{i // 250}."
                                                       f"{i % 250 + 1}/16"})
            for i in range(1000)}
    big = r.model_copy(update={"topology": {**r.topology, **many},
                               "realization": {**r.realization,
                                               **{h: r.realization["controller"]
                                                  for h in many}}})
    source, notes = topology_dot(big)
    assert source.count("subgraph cluster_") <= 4 and notes == []
    assert 'label="compute0000, compute0001 … compute0999 (1000 hosts)"' in source
