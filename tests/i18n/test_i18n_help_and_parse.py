"""Every verb's --help in Korean (its long help and every option's description), and the
change-file parsers' errors in Korean: one line naming file:line, exit 2. English stays as
it was. Each run is a fresh process: help texts are made once, in the language of `--lang`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ovnguard.cli.demo import example_dir

BUNDLE = example_dir() / "bundle"
OVNGUARD = str(Path(sys.executable).parent / "ovnguard")
HANGUL = range(0xAC00, 0xD7A4)
# Every command of the tree (the root's own help is checked in test_i18n_cli.py).
VERBS = [
    "demo", "check", "collect", "rehearse", "apply", "confirm", "rollback",
    "guard", "guard status", "guard recover", "guard sentinel", "guard sentinel-status",
    "guard sentinel-stop", "plan", "plan separate-nic", "plan fix",
    "lab", "lab up", "lab status", "lab down", "lab export", "lab env",
]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([OVNGUARD, *args], capture_output=True, text=True, timeout=180,
                          env={**base, "COLUMNS": "100", **(env or {})})


def _korean(text: str) -> bool:
    return any(ord(c) in HANGUL for c in text)


# The CLI built as `main` builds it for `--lang ko` (language first, then the verbs'
# modules): every command's help and every parameter's description, as data.
_DUMP = """
import json, sys, typer
from ovnguard.i18n import set_language
set_language(sys.argv[1])
from ovnguard.cli import build_app
out = {}
def walk(cmd, path):
    out[path] = {"help": cmd.help or "", "params": {
        (p.opts[0] if p.opts else p.name): getattr(p, "help", None) or ""
        for p in cmd.params if not getattr(p, "hidden", False) and p.name != "help"}}
    for name, sub in getattr(cmd, "commands", {}).items():
        walk(sub, (path + " " + name).strip())
walk(typer.main.get_command(build_app()), "")
print(json.dumps(out))
"""


def _tree(lang: str) -> dict[str, dict[str, object]]:
    p = subprocess.run([sys.executable, "-c", _DUMP, lang], capture_output=True, text=True,
                       timeout=120, check=True)
    tree: dict[str, dict[str, object]] = json.loads(p.stdout)
    return tree


def test_every_option_and_long_help_is_in_korean() -> None:
    ko, en = _tree("ko"), _tree("en")
    assert set(ko) == set(en) == {"", *VERBS}
    untranslated = []
    for path, cmd in ko.items():
        if path and not _korean(str(cmd["help"])):
            untranslated.append(f"{path}: long help")
        params = cmd["params"]
        assert isinstance(params, dict) and params == {
            k: v for k, v in params.items() if k in en[path]["params"]}  # type: ignore[operator]
        for opt, text in params.items():
            if not _korean(text):
                untranslated.append(f"{path} {opt}: {text!r}")
    assert not untranslated, untranslated
    # ... and English is English: nothing of it leaks Korean
    assert not [p for p, c in en.items() if _korean(json.dumps(c, ensure_ascii=False))]


@pytest.mark.parametrize("verb", VERBS)
def test_help_of_each_verb_in_korean(verb: str) -> None:
    ko = run(*verb.split(), "--help", "--lang", "ko")
    en = run(*verb.split(), "--help", "--lang", "en")
    assert ko.returncode == en.returncode == 0, (ko.stderr, en.stderr)
    # the long help (above the option table) and the option table are both Korean
    head, sep, table = ko.stdout.partition("╭─ ")
    assert sep and _korean(head.split("Usage:", 1)[1]), ko.stdout[:600]
    options = table.split("╰")[0]
    assert _korean(options)
    # the same options in both languages (the first column of the option tables)
    def flags(text: str) -> list[str]:
        return re.findall(r"^│ {1,4}(?:\* {1,2})?(--[\w-]+)", text, re.M)

    assert flags(ko.stdout) == flags(en.stdout) and "--lang" in flags(ko.stdout)
    assert not _korean(en.stdout)


@pytest.mark.parametrize(("text", "line", "english", "korean"), [
    ("LS=x\novn-nbctl lsp-add 'unterminated ${LS}\n", 2,
     "unterminated single quote", "닫히지 않은 작은따옴표"),
    ('ovn-nbctl ls-add x\novn-nbctl ls-add "y\n', 2,
     "unterminated double quote", "닫히지 않은 큰따옴표"),
])
def test_change_file_parse_error_in_korean(tmp_path: Path, text: str, line: int, english: str,
                                           korean: str) -> None:
    change = tmp_path / "fix.sh"
    change.write_text(text)
    args = ("check", "--bundle", str(BUNDLE), "--change", str(change))
    ko, en = run(*args, "--lang", "ko"), run(*args, "--lang", "en")
    assert ko.returncode == en.returncode == 2
    assert ko.stdout == en.stdout == ""
    assert en.stderr == f"ovnguard: error: {change}:{line}: {english}\n"
    assert ko.stderr == f"ovnguard: 오류: {change}:{line}: {korean}\n"


def test_host_state_error_in_korean(tmp_path: Path) -> None:
    state = tmp_path / "state.yaml"
    state.write_text("interfaces:\n  - type: ethernet\n    state: up\n")
    args = ("check", "--bundle", str(BUNDLE), "--host-state", f"compute1={state}")
    ko, en = run(*args, "--lang", "ko"), run(*args, "--lang", "en")
    assert ko.returncode == en.returncode == 2
    assert en.stderr == f"ovnguard: error: {state}:2: an interface without a name\n"
    assert ko.stderr == f"ovnguard: 오류: {state}:2: 이름 없는 인터페이스\n"


def test_unmodelled_lines_are_explained_in_korean(tmp_path: Path) -> None:
    """What the parsers say about a line they cannot model reaches the report in Korean;
    what `ip` itself would print for a refused line stays iproute2's own words."""
    change = tmp_path / "host.sh"
    change.write_text("# host: compute1\nip route flush dev br-ex\nip -6 route add to\n"
                      "ovn-nbctl ls-add a | tee log\novn-sbctl show\n")
    args = ("check", "--bundle", str(BUNDLE), "--change", str(change), "--format", "json",
            "--fail-on", "never")
    ko, en = run(*args, "--lang", "ko"), run(*args, "--lang", "en")
    assert ko.returncode == en.returncode == 0, ko.stderr
    lines_ko = {c["line"]: c for c in json.loads(ko.stdout)["change_lines"]}
    lines_en = {c["line"]: c for c in json.loads(en.stdout)["change_lines"]}
    assert {n: c["outcome"] for n, c in lines_ko.items()} == \
        {n: c["outcome"] for n, c in lines_en.items()}
    assert "`ip route flush` is not modelled" in lines_en[2]["message"]
    assert lines_ko[2]["message"].startswith("`ip route flush`는 모델링하지 않습니다")
    assert lines_ko[2]["message"].endswith("이 줄이 호스트에 무엇을 하는지 알 수 없습니다")
    assert "shell operator '|' is not supported" in lines_en[4]["message"]
    assert _korean(lines_ko[4]["message"]) and "'|'" in lines_ko[4]["message"]
    # a read-only line: no effect, said in the language
    assert (lines_en[5]["message"], lines_ko[5]["message"]) == (
        "no effect (already so)", "효과 없음 (이미 그 상태)")
    # iproute2's own refusal: the same words in both languages
    assert lines_ko[3]["message"] == lines_en[3]["message"] and not _korean(lines_ko[3]["message"])
