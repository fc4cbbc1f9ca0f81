"""`--lang` on the command line: Korean from end to end, and nothing a machine reads changes.

Each run is a fresh process (the language is process-wide), as a user runs ovnguard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ovnguard.cli.demo import example_dir

EX = example_dir()
BUNDLE = EX / "bundle"
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
# The report's prose: the only JSON values allowed to differ between languages.
MESSAGE_KEYS = {"summary", "fact", "remediation", "message", "notes", "reasons"}
HANGUL = range(0xAC00, 0xD7A4)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([OVNGUARD, *args], capture_output=True, text=True, timeout=180,
                          env={**base, **(env or {})})


def _korean(text: str) -> int:
    return sum(ord(c) in HANGUL for c in text)


def _same_but_messages(en: Any, ko: Any, path: str = "") -> list[str]:
    """Paths where the two reports differ other than in message strings."""
    if isinstance(en, dict) and isinstance(ko, dict):
        if en.keys() != ko.keys():
            return [f"{path}: keys {sorted(en.keys() ^ ko.keys())}"]
        out = []
        for k in en:
            if k in MESSAGE_KEYS and (isinstance(en[k], str) or (isinstance(en[k], list)
                                      and all(isinstance(x, str) for x in en[k]))):
                if isinstance(en[k], list) and len(en[k]) != len(ko[k]):
                    out.append(f"{path}.{k}: {len(en[k])} vs {len(ko[k])} entries")
                continue
            out += _same_but_messages(en[k], ko[k], f"{path}.{k}")
        return out
    if isinstance(en, list) and isinstance(ko, list):
        if len(en) != len(ko):
            return [f"{path}: {len(en)} vs {len(ko)} items"]
        return [d for i, (a, b) in enumerate(zip(en, ko, strict=True))
                for d in _same_but_messages(a, b, f"{path}[{i}]")]
    return [] if en == ko else [f"{path}: {en!r} != {ko!r}"]


def test_json_differs_only_in_message_strings() -> None:
    change = EX / "change-corrected.sh"
    args = ("check", "--bundle", str(BUNDLE), "--change", str(change), "--format", "json")
    en, ko = run(*args, "--lang", "en"), run(*args, "--lang", "ko")
    assert en.returncode == ko.returncode == 1, (en.stderr, ko.stderr)
    ren, rko = json.loads(en.stdout), json.loads(ko.stdout)
    assert ren["verdict"] == rko["verdict"] == "dangerous"
    assert _same_but_messages(ren, rko) == []
    # ... and the messages really are in Korean (not the same English twice)
    assert ren["summary"] != rko["summary"] and _korean(rko["summary"]) > 0
    loop = next(f for f in rko["findings"] if f["rule"] == "l2-loop")
    assert _korean(loop["remediation"]) > 0
    assert "ovn-nbctl lsp-del ln-physnet2" in loop["remediation"]  # commands stay as they are


def test_sarif_keeps_rule_ids_and_levels() -> None:
    change = EX / "change-corrected.sh"
    args = ("check", "--bundle", str(BUNDLE), "--change", str(change), "--format", "sarif")
    en, ko = run(*args, "--lang", "en"), run(*args, "--lang", "ko")
    assert en.returncode == ko.returncode == 1
    sen, sko = json.loads(en.stdout), json.loads(ko.stdout)

    def ids(s: dict[str, Any]) -> list[tuple[str, str]]:
        return [(r["ruleId"], r["level"]) for r in s["runs"][0]["results"]]

    assert ids(sen) == ids(sko) and ids(sen)
    rules = {r["id"]: r for r in sko["runs"][0]["tool"]["driver"]["rules"]}
    assert _korean(rules["l2-loop"]["shortDescription"]["text"]) > 0


def test_demo_in_korean_end_to_end() -> None:
    p = run("demo", "--lang", "ko")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for heading in ("사고", "1. 변경 전: 이미 장전된 위험", "2. 붙여 넣은 그대로의 명령",
                    "3. 스위치 이름은 고치고, 오타는 그대로",
                    "4. 둘 다 고친 명령: 모든 노드를 떨어뜨린 것",
                    "5. 해결책: NIC 분리, 호스트에 손대기 전에 검증"):
        assert heading in out, heading
    # the verdict, who loses management and what to do, in Korean; ids and names as they are
    assert " 위험 " in out and "관리 접속 끊김" in out and "조치: " in out
    assert "L2 루프: neutron-5f1c9d2e" in out and "l2-loop" in out
    assert "ovn-nbctl lsp-del ln-physnet2" in out and " 검증됨 " in out
    # no English section title left over
    for english in ("The incident", "What the change does, per host", "How it unfolds",
                    "What to do: ", "DANGEROUS", "LOSES MANAGEMENT", "→ line "):
        assert english not in out, english
    # the same story in English when asked, and by default in an English locale
    en = run("demo", "--act", "corrected", env={"LANG": "en_US.UTF-8"})
    assert en.returncode == 0 and "DANGEROUS" in en.stdout and _korean(en.stdout) == 0
    # the chain of events has as many events in Korean (each told once, as in English)
    def events(text: str) -> int:
        return sum(line.startswith("→ ") for line in text.splitlines())

    assert events(out) == events(en.stdout) > 10


def test_the_locale_is_the_default_and_lang_overrides_it() -> None:
    ko = run("demo", "--act", "corrected", env={"LANG": "ko_KR.UTF-8"})
    assert ko.returncode == 0 and " 위험 " in ko.stdout
    en = run("--lang", "en", "demo", "--act", "corrected", env={"LANG": "ko_KR.UTF-8"})
    assert en.returncode == 0 and "DANGEROUS" in en.stdout and _korean(en.stdout) == 0


def test_errors_and_help_in_korean() -> None:
    p = run("check", "--bundle", "/nonexistent-ovnguard-dir", "--lang", "ko")
    assert p.returncode == 2
    assert p.stderr.strip() == (
        "ovnguard: 오류: /nonexistent-ovnguard-dir: 번들 디렉터리를 찾을 수 없습니다")
    h = run("--help", env={"LANG": "ko_KR.UTF-8"})
    assert h.returncode == 0 and "변경을 실행하기 전에" in h.stdout and "--lang" in h.stdout


def test_every_command_takes_lang() -> None:
    import typer

    from ovnguard.cli import build_app

    missing = []

    def walk(cmd: Any, path: str) -> None:
        if not any(p.name == "lang" for p in cmd.params):
            missing.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(build_app()), "ovnguard")
    assert not missing, missing


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_html_is_in_the_language(lang: str, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    p = run("check", "--bundle", str(BUNDLE), "--change", str(EX / "change-corrected.sh"),
            "--format", "html", "--output", str(out), "--lang", lang)
    assert p.returncode == 1, p.stderr
    html = out.read_text()
    assert f'<html lang="{lang}">' in html
    assert ("관리 접속 끊김" in html) == (lang == "ko")
    assert ("loses management" in html) == (lang == "en")


def test_plan_report_frame_in_korean(tmp_path: Path) -> None:
    p = run("plan", "separate-nic", "--bundle", str(BUNDLE), "--physnet", "physnet2",
            "--bridge", "br-public", "--nic", "eth2", "--out", str(tmp_path), "--lang", "ko")
    assert p.returncode == 0, p.stderr
    assert "적용 순서: controller, network, compute1" in p.stdout
    assert "되돌리기: ovs-vsctl" in p.stdout and "apply in this order" not in p.stdout
