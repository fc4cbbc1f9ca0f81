"""The package installs anywhere: the wheel builds offline with the declared backend (the
setuptools in this venv, older than the 77 an SPDX licence string would need), ships the
templates, examples, docs and contrib that --help and the README name, and declares exactly
the third-party packages src/ovnguard imports."""

from __future__ import annotations

import ast
import email
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "ovnguard"
# distribution name -> import name, where they differ
IMPORT_NAME = {"pyyaml": "yaml"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        import setuptools  # noqa: F401
    except ImportError:
        pytest.skip("no setuptools in this environment")
    # Build from a copy: the build writes build/ and *.egg-info next to the sources.
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md", "src", "docs", "contrib"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, tree / name)
    out = tmp_path_factory.mktemp("wheel")
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--no-build-isolation", "--no-index", "-w", str(out), str(tree)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    (whl,) = out.glob("ovnguard-*.whl")
    return whl


def test_wheel_ships_what_the_docs_name(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"{data}/data/share/doc/ovnguard/docs/{doc.name}" in names
    assert f"{data}/data/share/doc/ovnguard/README.md" in names
    assert f"{data}/data/share/doc/ovnguard/contrib/ansible/collect.yml" in names
    assert "ovnguard/py.typed" in names
    assert any(n.startswith("ovnguard/report/templates/") for n in names)
    assert "ovnguard/examples/seed/bundle/nb.db" in names
    # the compiled Korean catalog (committed, see docs/i18n.md), where gettext looks for it
    assert "ovnguard/locale/ko/LC_MESSAGES/ovnguard.mo" in names
    assert f"{data}/data/share/doc/ovnguard/docs/rules.ko.md" in names


def _imported_top_level() -> set[str]:
    mods: set[str] = set()
    for f in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split(".")[0])
    stdlib = set(sys.stdlib_module_names)
    return {m for m in mods if m not in stdlib and m != "ovnguard"}


def test_declared_dependencies_are_exactly_the_imported_ones(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(meta_name))
    declared = set()
    for req in meta.get_all("Requires-Dist") or []:
        if "extra ==" in req:
            continue
        name = req.split(";")[0].split("[")[0]
        for op in "<>=!~ ":
            name = name.split(op)[0]
        name = name.strip().lower()
        declared.add(IMPORT_NAME.get(name, name))
    assert declared == _imported_top_level()


def test_installed_copy_points_at_its_docs(wheel: Path, tmp_path: Path) -> None:
    """Installed into a fresh prefix (no network: dependencies come from this venv), the
    installed `ovnguard --help` names the docs installed beside it."""
    prefix = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True,
                   timeout=120)
    py = prefix / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout
    # the dependencies: this venv's site-packages, after the new one's own
    (Path(site.strip()) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    p = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                        "--no-deps", "--no-index", str(wheel)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    docs = prefix / "share" / "doc" / "ovnguard"
    assert (docs / "docs" / "bundle.md").is_file()
    h = subprocess.run([str(prefix / "bin" / "ovnguard"), "--help"], capture_output=True,
                       text=True, timeout=60, env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"})
    assert h.returncode == 0, h.stderr
    assert str(docs) in h.stdout


def test_pipx_install_of_the_source_tree_runs(tmp_path: Path) -> None:
    """`pipx install .` as an operator runs it: its own venv, build isolation (setuptools
    from the package index pip is configured with), the console script working. Checked by
    hand with Debian 12's pipx 1.1.0 and with pipx 1.18 from PyPI."""
    pipx = shutil.which("pipx")
    if pipx is None:
        pytest.skip("pipx not installed (apt-get install pipx, or pip install pipx)")
    # HOME kept: pip's own configuration (index, find-links) is read from it
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
           "PIPX_HOME": str(tmp_path / "h"),
           "PIPX_BIN_DIR": str(tmp_path / "bin"), "PIPX_MAN_DIR": str(tmp_path / "man")}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "src", "docs", "contrib"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, tree / name)
    p = subprocess.run([pipx, "install", str(tree)], capture_output=True, text=True,
                       timeout=600, env=env)
    if p.returncode != 0 and "Could not find a version" in p.stdout + p.stderr:
        pytest.skip("no package index reachable for pipx's isolated build")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    exe = tmp_path / "bin" / "ovnguard"
    seed = SRC / "examples" / "seed"
    r = subprocess.run([str(exe), "check", "-b", str(seed / "bundle"), "--change",
                        str(seed / "change-corrected.sh"), "-f", "json"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 1, r.stderr  # the seed change is dangerous
    assert '"verdict": "dangerous"' in r.stdout
    docs = tmp_path / "h" / "venvs" / "ovnguard" / "share" / "doc" / "ovnguard"
    assert (docs / "docs" / "security.md").is_file()
