"""Reading a change file: shell quoting, variables, continuations, host sections, and what is
refused. The expected words are what bash itself makes of the same text (checked with a real
`bash -c 'printf "%s\\n" ...'` where it matters)."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from ovnguard.change import parse_change, read_change
from ovnguard.errors import InputError


def _words(text: str) -> list[tuple[str, ...]]:
    return [inv.argv for inv in parse_change(text, "c.sh").invocations]


def _bash_words(script: str) -> list[str]:
    """What bash makes of the last line's words after running the earlier lines."""
    *setup, last = script.strip().splitlines()
    prog = "\n".join([*setup, "printf '%s\\n' " + last.split(" ", 1)[1]])
    out = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


@pytest.mark.parametrize(
    "script",
    [
        """ovn-nbctl lsp-set-addresses p1 "fa:16:3e:00:00:01 10.0.0.5" 'unknown'""",
        """ovn-nbctl set Logical_Switch_Port p1 'external_ids:"a b"="c d"'""",
        """X='a b'\novn-nbctl ls-add $X "$X" ${X}c""",
        """X=" lead trail "\novn-nbctl ls-add a$X"b" """,
        """E=\novn-nbctl ls-add $E "$E" x""",
        """ovn-nbctl ls-add a\\ b c\\"d 'it'"'"'s'""",
        """N=phy\novn-nbctl ls-add "${N}net2-\\$HOME" '$N' $""",
    ],
)
def test_words_are_what_bash_makes_of_them(script: str) -> None:
    assert list(_words(script)[-1]) == _bash_words(script)


def test_seed_snippet_expands_its_variables() -> None:
    text = (
        'LS_NAME="neutron-<provider-network-UUID>"\nPHYSNET="phynet2"\n\n'
        "ovn-nbctl lsp-add ${LS_NAME} ln-${PHYSNET}\n"
        "ovn-nbctl lsp-set-options ln-${PHYSNET} network_name=${PHYSNET}\n"
    )
    change = parse_change(text, "seed.sh")
    assert [i.argv for i in change.invocations] == [
        ("lsp-add", "neutron-<provider-network-UUID>", "ln-phynet2"),
        ("lsp-set-options", "ln-phynet2", "network_name=phynet2"),
    ]
    assert [i.location.line for i in change.invocations] == [4, 5]
    assert change.invocations[0].text == "ovn-nbctl lsp-add ${LS_NAME} ln-${PHYSNET}"
    assert change.invocations[0].expanded == (
        "ovn-nbctl lsp-add 'neutron-<provider-network-UUID>' ln-phynet2"
    )
    assert dict(change.variables) == {
        "LS_NAME": "neutron-<provider-network-UUID>", "PHYSNET": "phynet2"
    }
    assert not change.problems


def test_continuations_keep_the_first_line_and_later_lines_count_right() -> None:
    text = (
        "# a comment\n"
        "ovn-nbctl ls-add sw1 \\\n"
        "  -- lsp-add sw1 p1 \\\n"
        "  -- lsp-set-type p1 localnet\n"
        "ovn-nbctl lsp-set-addresses p1 'aa:bb:cc:dd:ee:ff\n10.0.0.1'\n"
        "\n"
        "ovn-nbctl ls-del sw1  # trailing comment\n"
    )
    change = parse_change(text, "c.sh")
    assert [i.location.line for i in change.invocations] == [2, 5, 8]
    first = change.invocations[0]
    assert [(c.verb, c.args, c.index) for c in first.commands] == [
        ("ls-add", ("sw1",), 0),
        ("lsp-add", ("sw1", "p1"), 1),
        ("lsp-set-type", ("p1", "localnet"), 2),
    ]
    assert all(c.location.line == 2 and c.invocation == 0 for c in first.commands)
    assert first.text == "ovn-nbctl ls-add sw1   -- lsp-add sw1 p1   -- lsp-set-type p1 localnet"
    assert change.invocations[1].argv[-1] == "aa:bb:cc:dd:ee:ff\n10.0.0.1"
    assert change.invocations[2].argv == ("ls-del", "sw1")


def test_global_and_command_options_are_told_apart() -> None:
    (inv,) = parse_change(
        "ovn-nbctl --wait=hv -t 10 --may-exist ls-add sw1 -- --if-exists lsp-del p1\n", "c.sh"
    ).invocations
    assert inv.global_options == (("--wait", "hv"), ("--timeout", "10"))
    assert [(c.verb, c.options) for c in inv.commands] == [
        ("ls-add", (("--may-exist", None),)),
        ("lsp-del", (("--if-exists", None),)),
    ]
    assert inv.syntax_error is None


def test_host_sections_and_default_host() -> None:
    text = (
        "ovs-vsctl add-br br-a\n"
        "# host: compute1\n"
        "ovs-vsctl add-br br-b\n"
        "ovn-nbctl ls-add x\n"
        "#host:compute2\n"
        "ovs-vsctl add-br br-c\n"
        "echo hi  # host: not-a-section\n"
    )
    change = parse_change(text, "c.sh", default_host="net1")
    hosts = [(i.tool, i.host) for i in change.invocations]
    assert hosts == [
        ("ovs-vsctl", "net1"), ("ovs-vsctl", "compute1"), ("ovn-nbctl", None),
        ("ovs-vsctl", "compute2"),
    ]
    assert [c.host for c in change.commands] == ["net1", "compute1", None, "compute2"]


def test_undefined_variable_is_a_problem_on_its_line() -> None:
    text = "A=1\novn-nbctl ls-add $A-$B\nC=$D\novn-nbctl ls-add \\\n  $C\n"
    change = parse_change(text, "c.sh")
    assert not change.invocations
    assert [(p.kind, p.location.line) for p in change.problems] == [
        ("undefined-variable", 2), ("undefined-variable", 3), ("undefined-variable", 4),
    ]
    assert "$B" in change.problems[0].message
    assert "$C" in change.problems[2].message


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("ovn-nbctl ls-list | grep neutron", "'|'"),
        ("ovn-nbctl lsp-add $(ovn-nbctl ls-list | head -1) p1", "$(...)"),
        ("ovn-nbctl lsp-add `ovn-nbctl ls-list` p1", "`...`"),
        ("ovn-nbctl ls-add x > /tmp/out", "'>'"),
        ("ovn-nbctl ls-add x || true", "'||'"),
        ("ovn-nbctl ls-add x &", "'&'"),
        ("for s in a b; do ovn-nbctl ls-add $s; done", "'for'"),
        ("ovn-nbctl ls-add ${X:-x}", "${X:-x}"),
        ("ovn-nbctl ls-add $1", "$1"),
        ("ovs-vsctl set Open_vSwitch . external_ids={a=b,c=d}", "brace expansion"),
        ("echo hello", "'echo'"),
        ("set -e", "'set'"),
        ("OVN_NB_DB=tcp:1.2.3.4:6641 ovn-nbctl ls-add x", "assignment in front"),
    ],
)
def test_shell_features_are_reported_with_their_line(line: str, what: str) -> None:
    change = parse_change(f"# first\n\n{line}\novn-nbctl ls-add after\n", "c.sh")
    assert [p.kind for p in change.problems] == ["unsupported-command"]
    problem = change.problems[0]
    assert problem.location.line == 3
    assert what in problem.message
    assert [i.argv for i in change.invocations][-1] == ("ls-add", "after")


def test_semicolon_and_and_split_commands() -> None:
    change = parse_change("ovn-nbctl ls-add a; ovn-nbctl ls-add b && ovn-nbctl ls-add c\n", "c.sh")
    assert [(i.argv, i.after, i.location.line) for i in change.invocations] == [
        (("ls-add", "a"), "", 1), (("ls-add", "b"), ";", 1), (("ls-add", "c"), "&&", 1),
    ]
    assert change.invocations[2].text == "ovn-nbctl ls-add c"


def test_wrappers_operators_type_are_removed() -> None:
    text = (
        "sudo ovn-nbctl ls-add a\nsudo -E ovs-vsctl add-br b\n"
        "docker exec -it ovn_northd ovn-nbctl ls-add c\n/usr/bin/ovn-nbctl ls-add d\n"
    )
    change = parse_change(text, "c.sh", default_host="h")
    assert [(i.tool, i.argv) for i in change.invocations] == [
        ("ovn-nbctl", ("ls-add", "a")), ("ovs-vsctl", ("add-br", "b")),
        ("ovn-nbctl", ("ls-add", "c")), ("ovn-nbctl", ("ls-add", "d")),
    ]


def test_syntax_errors_keep_the_tools_words() -> None:
    change = parse_change(
        "ovn-nbctl frobnicate\novn-nbctl ls-add a b\novs-vsctl --foo add-br x\n"
        "ovn-nbctl --if-exists ls-add x\n", "c.sh", default_host="h"
    )
    assert [i.syntax_error for i in change.invocations] == [
        "unknown command 'frobnicate'; use --help for help",
        "'ls-add' command takes at most 1 arguments",
        "unrecognized option '--foo'",
        "'ls-add' command has no '--if-exists' option",
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("ovn-nbctl ls-add 'unterminated\n\n", 1),
        ("A=1\novn-nbctl ls-add \\\n  \"x y\n", 3),
    ],
)
def test_unterminated_quote_is_an_input_error_naming_file_and_line(text: str, line: int) -> None:
    with pytest.raises(InputError) as ei:
        parse_change(text, "change.sh")
    assert ei.value.path == "change.sh"
    assert ei.value.line == line
    assert str(ei.value).startswith(f"change.sh:{line}: unterminated")


def test_read_change_errors_name_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no such file"):
        read_change(tmp_path / "missing.sh")
    bad = tmp_path / "bad.sh"
    bad.write_bytes(b"ovn-nbctl ls-add \xff\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_change(bad)
    good = tmp_path / "good.sh"
    good.write_text("ovn-nbctl ls-add x\n")
    assert read_change(good).invocations[0].location.path == str(good)


def test_windows_line_endings_are_plain_lines() -> None:
    text = "ovn-nbctl ls-add a \\\r\n  -- ls-add b\r\novn-nbctl ls-add c\r\n"
    change = parse_change(text, "c.sh")
    assert [(i.argv, i.location.line) for i in change.invocations] == [
        (("ls-add", "a", "--", "ls-add", "b"), 1), (("ls-add", "c"), 3),
    ]


def test_expanded_text_round_trips_through_shlex() -> None:
    (inv,) = parse_change("""ovn-nbctl set Logical_Switch_Port p 'external_ids:"a b"=c'\n""",
                          "c.sh").invocations
    assert tuple(shlex.split(inv.expanded)[1:]) == inv.argv
