"""Names from the data are shown, never run: HTML escapes them, the terminal shows control
characters as escapes. Every string of a real report is replaced by a hostile one in turn."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ovnguard.cli.demo import example_dir
from ovnguard.report.html import render_html
from ovnguard.report.safe import visible
from ovnguard.report.schema import Report
from ovnguard.report.text import render_text

EX = example_dir()
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
SCRIPT = "<script>alert(1)</script>"
ATTR = '"><img src=x onerror=alert(2)>'
ESC = "\x1b[2J\x1b]0;owned\x07\r\x9b31m"


def _seed_report() -> dict[str, Any]:
    p = subprocess.run(
        [OVNGUARD, "check", "-b", str(EX / "bundle"), "--change", str(EX / "change-corrected.sh"),
         "-f", "json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    data: dict[str, Any] = json.loads(p.stdout)
    return data


def _poison(data: Any, payload: str) -> Any:
    """Every string (and dict key) with `payload` inserted; Literal-typed fields keep theirs."""
    if isinstance(data, str):
        return data + payload
    if isinstance(data, list):
        return [_poison(x, payload) for x in data]
    if isinstance(data, dict):
        return {(k + payload if k not in _FIELDS else k): _poison(v, payload)
                for k, v in data.items()}
    return data


# Field names of the schema: they are keys of the models, not data, so they stay as they are.
_FIELDS = set(json.dumps(Report.model_json_schema()).replace('"', " ").split())


def _hostile_report(payload: str) -> Report:
    data = _seed_report()
    poisoned = _poison(data, payload)
    # Keep the Literal fields (verdict, severity, status, outcome) valid: put them back.
    for key in ("verdict",):
        poisoned[key] = data[key]
    for f_new, f_old in zip(poisoned["findings"], data["findings"], strict=True):
        for k in ("severity", "status"):
            f_new[k] = f_old[k]
    for c_new, c_old in zip(poisoned["change_lines"], data["change_lines"], strict=True):
        c_new["outcome"] = c_old["outcome"]
    for t_new, t_old in zip(poisoned["topology"].values(), data["topology"].values(),
                            strict=True):
        t_new["known_from"] = t_old["known_from"]
    poisoned["schema_version"] = data["schema_version"]
    poisoned["versions"]["executor"] = data["versions"]["executor"]
    try:
        return Report.model_validate(poisoned)
    except ValidationError as e:  # pragma: no cover - a schema change this test must follow
        raise AssertionError(f"poisoned report no longer validates: {e}") from e


def test_html_escapes_every_data_string() -> None:
    for payload in (SCRIPT, ATTR):
        report = _hostile_report(payload)
        page = render_html(report)
        assert "<script" not in page.lower()
        assert "<img" not in page.lower()
        assert "onerror=alert" not in page.replace("onerror=alert(2)&gt;", "")
    # The names are still there, escaped, in the page and in the picture.
    page = render_html(_hostile_report(SCRIPT))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "&lt;script&gt;" in svg


def test_text_report_sends_no_control_character() -> None:
    report = _hostile_report(ESC)
    for verbose in (False, True):
        out = io.StringIO()
        render_text(report, out, width=120, verbose=verbose)
        text = out.getvalue()
        bad = [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
        assert bad == []
        assert "\\x1b[2J" in text and "\\x9b31m" in text


def test_visible_keeps_printable_text_and_names_each_control() -> None:
    assert visible("br-ex 브리지 ü") == "br-ex 브리지 ü"
    assert visible("a\x1b[2Jb\nc\u202e") == "a\\x1b[2Jb\\x0ac\\u202e"


def test_check_html_from_a_hostile_change_line(tmp_path: Path) -> None:
    """The reproducer: a switch named like a script, through the whole CLI."""
    bundle = tmp_path / "bundle"
    shutil.copytree(EX / "bundle", bundle)
    change = tmp_path / f"{SCRIPT.replace('/', '_')}.sh"
    change.write_text(f"ovn-nbctl ls-add '{SCRIPT}'\novn-nbctl ls-add '{ESC}'\n")
    out = tmp_path / "r.html"
    p = subprocess.run([OVNGUARD, "check", "-b", str(bundle), "--change", str(change), "-f", "html",
                        "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    page = out.read_text()
    assert "<script" not in page.lower() and "&lt;script&gt;alert(1)" in page
    p = subprocess.run([OVNGUARD, "check", "-b", str(bundle), "--change", str(change), "-v"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr
    assert "\x1b" not in p.stdout and "\\x1b[2J" in p.stdout
