"""Every path the repository names exists in it, and nothing points outside it: a user who
clones the repository has exactly what its comments and docs refer to."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMED = re.compile(
    r"(?<![\w/.-])((?:tests|docs|src|bench|scripts|contrib)/[A-Za-z0-9_./-]+"
    r"\.(?:py|md|json|ya?ml|sh|j2|ini))\b"
)
# Files of the team's private workspace that are not part of the repository.
OUTSIDE = re.compile(r"\.\./shared|\bshared/seed\b|PRODUCT\.md|LAB-NOTES")


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=30).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # a copy without .git: walk it
        skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache"}
        return [p for p in ROOT.rglob("*")
                if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]
    return [ROOT / p for p in out]


def _texts() -> list[tuple[Path, str]]:
    out = []
    for p in _tracked():
        if p.suffix not in {".py", ".md", ".sh", ".j2", ".yml", ".yaml", ".toml", ""}:
            continue
        if not p.is_file() or p.stat().st_size > 1_000_000:
            continue
        try:
            out.append((p, p.read_text()))
        except UnicodeDecodeError:
            continue
    return out


def test_every_named_path_exists() -> None:
    missing = []
    for p, text in _texts():
        for m in NAMED.finditer(text):
            name = m.group(1).rstrip(".")
            if "*" in name or "<" in name:
                continue
            if not ((ROOT / name).exists() or (ROOT / "src" / "ovnguard" / name).exists()):
                missing.append(f"{p.relative_to(ROOT)}: {name}")
    assert missing == []


def test_nothing_points_outside_the_repository() -> None:
    me = Path(__file__).resolve()
    hits = [f"{p.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
            for p, text in _texts() if p.resolve() != me for m in OUTSIDE.finditer(text)]
    assert hits == []
