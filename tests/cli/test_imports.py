"""`ovnguard` starts without importing what the verb it runs does not need (a test of which
modules load, not a timing: bench/cli_startup.py measures the time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "src" / "ovnguard" / "examples" / "seed"

PROBE = """
import sys
from ovnguard.cli import main
try:
    main()
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""

# Never needed by `check` on a bundle (json output): SSH, the lab, the guard, netlink, HTML,
# a graph library, pydantic (the report models are dataclasses; pydantic only exports or
# validates the schema, and typer < 0.29 parses options without it: pyproject.toml), gzip
# (a .gz input only). The `ovs` package is imported: the real-tool executor drives its
# ovn-nbctl daemons with the OVS project's own JSON-RPC client.
NOT_FOR_CHECK = ("networkx", "asyncssh", "pyroute2", "jinja2", "pydantic",
                 "gzip", "ovnguard.lab",
                 "ovnguard.guard", "ovnguard.plan", "ovnguard.sources.remote",
                 "ovnguard.sources.live", "ovnguard.report.html", "ovnguard.cli.collect",
                 "ovnguard.cli.lab", "ovnguard.cli.guard", "ovnguard.cli.demo")


def _modules(*argv: str) -> set[str]:
    p = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                       timeout=120, check=False)
    return set(p.stderr.strip().splitlines()[-1].split())


def test_check_imports_only_what_it_uses() -> None:
    mods = _modules("check", "-b", str(SEED / "bundle"), "--change",
                    str(SEED / "change-verbatim.sh"), "-f", "json")
    assert "ovnguard.assess" in mods  # the probe really ran a check
    assert sorted(m for m in NOT_FOR_CHECK if m in mods) == []


def test_help_and_version_do_not_import_the_engine() -> None:
    for argv in (("--help",), ("--version",)):
        mods = _modules(*argv)
        assert "typer" in mods
        # nor the bundle reader, YAML or the report's dataclasses (cli.collect and cli.out
        # load them when a verb runs)
        heavy = ("ovnguard.assess", "ovnguard.simulation", "ovnguard.change", "networkx",
                 "asyncssh", "pyroute2", "jinja2", "pydantic", "ovnguard.sources", "yaml",
                 "ovnguard.report.schema", "ovnguard.model")
        assert sorted(m for m in heavy if m in mods) == [], argv


def test_check_help_does_not_import_the_engine() -> None:
    mods = _modules("check", "--help")
    assert "ovnguard.cli.check" in mods
    assert not {"ovnguard.assess", "ovnguard.simulation", "ovnguard.cli.lab"} & mods
