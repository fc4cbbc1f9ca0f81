"""Change file text -> `Change`: invocations of ovn-nbctl / ovs-vsctl / openstack, in order."""

from __future__ import annotations

import os
from pathlib import Path

from ovnguard.change.model import (
    Change,
    ChangeProblem,
    Command,
    Invocation,
    Location,
    Tool,
)
from ovnguard.change.shell import (
    Token,
    Undefined,
    Unsupported,
    expand_word,
    quote_words,
    split_assignment,
    tokenize,
)
from ovnguard.change.syntax import parse_ctl_argv
from ovnguard.i18n import N_, _
from ovnguard.sources import safeio

# A change is typed or generated for one maintenance window: 16 MiB is ~200,000 commands.
# A word longer than 64 KiB is no name OVSDB or a shell would accept in practice.
MAX_CHANGE_BYTES = 16 * safeio.MiB
MAX_CHANGE_LINE = 64 * 1024

TOOLS: tuple[Tool, ...] = ("ovn-nbctl", "ovs-vsctl", "ovn-sbctl", "openstack")
# Host tools: they act on the host of their `# host:` section (change/host.py).
HOST_TOOLS: tuple[Tool, ...] = ("ip",)
SUPPORTED_HINT = N_(
    "supported: ovn-nbctl, ovs-vsctl, ovn-sbctl (also as microovn.ovn-nbctl, or behind sudo, "
    "docker/podman exec, kubectl/oc exec), `openstack network create`, `ip address|route|"
    "link set` on a `# host:`, VAR=value, "
    "comments, `\\` continuations, `;` and `&&` between commands"
)
# Wrappers operators put in front of the real command; they do not change what it does to
# the database. Options that take a value must be known to skip it.
# Commands one line may chain with `--` (the real ovs-vsctl is quadratic in them: 1,000
# take about 6 s, 3,000 over a minute).
MAX_CHAINED = 1000
_SHELL_KEYWORDS = frozenset(
    {"for", "while", "until", "if", "then", "else", "elif", "fi", "do", "done", "case", "esac",
     "function", "select", "{", "}", "!", "[[", "]]"}
)
_SUDO_VALUE_OPTS = frozenset("ugCDhprtUT")
_EXEC_VALUE_OPTS = frozenset({"-u", "--user", "-w", "--workdir", "-e", "--env", "--env-file",
                              "--detach-keys"})
# kubectl / oc options that take a value as the next word (before or after `exec`).
_KUBECTL_VALUE_OPTS = frozenset({"-n", "--namespace", "-c", "--container", "--context",
                                 "--cluster", "--kubeconfig", "--user", "-s", "--server",
                                 "--request-timeout", "-f", "--filename", "--token",
                                 "--as", "--as-group", "--pod-running-timeout"})


def read_change(path: str | Path, default_host: str | None = None) -> Change:
    p = Path(path)
    text = safeio.read_text(p, limit=MAX_CHANGE_BYTES, max_line=MAX_CHANGE_LINE,
                            what="change file")
    return parse_change(text, str(p), default_host)


def parse_change(text: str, path: str, default_host: str | None = None) -> Change:
    """Parse a change file. Unreadable text (an unterminated quote) raises `InputError`."""
    text = text.replace("\r\n", "\n")  # a change pasted from Windows
    tokens = tokenize(text, path)
    return _Reader(text, path, default_host).read(tokens)


class _Reader:
    def __init__(self, text: str, path: str, default_host: str | None) -> None:
        self.text = text
        self.path = path
        self.host = default_host
        self.variables: dict[str, str | None] = {}
        self.invocations: list[Invocation] = []
        self.problems: list[ChangeProblem] = []

    def read(self, tokens: list[Token]) -> Change:
        line: list[Token] = []
        for tok in [*tokens, Token("nl", 0, len(self.text), len(self.text))]:
            if tok.kind == "host":
                self.host = tok.op or None
            elif tok.kind == "nl":
                if line:
                    self._logical_line(line)
                line = []
            else:
                line.append(tok)
        return Change(
            self.path,
            tuple(self.invocations),
            tuple(self.problems),
            tuple((k, v) for k, v in self.variables.items() if v is not None),
        )

    def _raw(self, toks: list[Token]) -> str:
        raw = self.text[toks[0].start : toks[-1].end]
        return raw.replace("\\\n", "").strip()

    def _problem(self, kind: str, toks: list[Token], message: str) -> None:
        self.problems.append(
            ChangeProblem(
                kind,  # type: ignore[arg-type]
                Location(self.path, toks[0].line),
                self._raw(toks),
                message,
            )
        )

    def _logical_line(self, toks: list[Token]) -> None:
        bad_ops = [t.op for t in toks if t.kind == "op" and t.op not in (";", "&&")]
        if bad_ops:
            self._problem(
                "unsupported-command",
                toks,
                _("shell operator '{op}' is not supported: ovnguard never runs a shell and "
                  "cannot know what it would do ({supported})").format(
                      op=bad_ops[0], supported=_(SUPPORTED_HINT)),
            )
            return
        starts = [toks[0]] + [toks[i + 1] for i, t in enumerate(toks[:-1]) if t.kind == "op"]
        keywords = [w.literal_prefix for w in starts if w.kind == "word" and len(w.parts) == 1
                    and w.literal_prefix in _SHELL_KEYWORDS]
        if keywords:
            self._problem(
                "unsupported-command",
                toks,
                _("shell '{keyword}' is not supported: ovnguard never runs a shell and does "
                  "not unroll loops or conditions; write out each command ({supported})").format(
                      keyword=keywords[0], supported=_(SUPPORTED_HINT)),
            )
            return
        seg: list[Token] = []
        joiner = ""
        for tok in [*toks, Token("op", toks[-1].line, toks[-1].end, op=";")]:
            if tok.kind == "op":
                if seg:
                    self._simple_command(seg, joiner)
                seg = []
                joiner = tok.op
            else:
                seg.append(tok)

    def _simple_command(self, toks: list[Token], joiner: str) -> None:
        words = list(toks)
        assignments: list[tuple[str, Token]] = []
        while words:
            a = split_assignment(words[0])
            if a is None:
                break
            assignments.append(a)
            words.pop(0)
        if words and words[0].literal_prefix == "export" and len(words[0].parts) == 1:
            for w in words[1:]:
                a = split_assignment(w)
                if a is None:
                    if not _is_name(w):
                        self._problem(
                            "unsupported-command", toks,
                            _("export of {word}").format(word=repr(self._raw([w])))
                        )
                        return
                    continue
                assignments.append(a)
            words = []
        if words and assignments:
            self._problem(
                "unsupported-command",
                toks,
                _("a variable assignment in front of a command only changes that command's "
                  "environment; put it on its own line"),
            )
            return
        if not words:
            for name, value_tok in assignments:
                try:
                    (value,) = expand_word(value_tok, self.variables, split=False) or [""]
                except Undefined as e:
                    self.variables[name] = None
                    self._undefined(toks, e.names)
                    continue
                except Unsupported as e:
                    self.variables[name] = None
                    self._problem("unsupported-command", toks,
                                  _("{what} is not supported").format(what=e))
                    continue
                self.variables[name] = value
            return
        argv: list[str] = []
        for w in words:
            try:
                argv.extend(expand_word(w, self.variables))
            except Undefined as e:
                self._undefined(toks, e.names)
                return
            except Unsupported as e:
                self._problem("unsupported-command", toks,
                              _("{what} is not supported").format(what=e))
                return
        argv = _strip_wrappers(argv)
        if not argv:
            return
        tool = os.path.basename(argv[0])
        if tool in HOST_TOOLS:
            self._ip(toks, argv[1:], joiner)
            return
        if tool not in TOOLS:
            self._problem(
                "unsupported-command",
                toks,
                _("'{command}' is not something ovnguard can simulate ({supported})").format(
                    command=argv[0], supported=_(SUPPORTED_HINT)),
            )
            return
        self._invocation(toks, tool, argv[1:], joiner)

    def _undefined(self, toks: list[Token], names: list[str]) -> None:
        self._problem(
            "undefined-variable",
            toks,
            _("undefined variable {names} (assign it with NAME=value on an earlier "
              "line)").format(names=", ".join(f"${n}" for n in names)),
        )

    def _ip(self, toks: list[Token], argv: list[str], joiner: str) -> None:
        """An iproute2 line: parsed here by iproute2's grammar (change/host.py), applied to
        the host model of its `# host:` section by the executor (change/hostapply.py)."""
        from ovnguard.change.host import Source, parse_ip  # only a change with ip lines needs it

        loc = Location(self.path, toks[0].line)
        index = len(self.invocations)
        after = joiner if self.invocations and joiner in ("&&", ";") else ""
        raw = self._raw(toks)
        self.invocations.append(Invocation(
            index, loc, "ip", raw, tuple(argv), self.host, (), (),
            after=after,  # type: ignore[arg-type]
            ip=parse_ip(argv, Source(loc, raw)),
        ))

    def _invocation(self, toks: list[Token], tool: Tool, argv: list[str], joiner: str) -> None:
        loc = Location(self.path, toks[0].line)
        index = len(self.invocations)
        host = self.host if tool == "ovs-vsctl" else None
        after = joiner if self.invocations and joiner in ("&&", ";") else ""
        if any("\x00" in w for w in argv):
            # no program can receive a NUL in its arguments (the real tool never sees it)
            self._problem("unsupported-command", toks,
                          _("a NUL byte in a word: no program can be given one as an "
                            "argument, so what this line does is unknown; remove it"))
            return
        if tool == "openstack":
            inv = Invocation(
                index, loc, tool, self._raw(toks), tuple(argv), None, (),
                (Command(loc, tool, " ".join(argv[:2]), tuple(argv[2:]), (), (), None, index),),
                after=after,  # type: ignore[arg-type]
            )
            self.invocations.append(inv)
            return
        parsed = parse_ctl_argv(tool, argv)
        if len(parsed.commands) > MAX_CHAINED:
            self._problem(
                "unsupported-command", toks,
                _("{count} `--`-chained commands in one line: at most {max} are applied (the "
                  "real ovs-vsctl needs seconds per thousand and minutes beyond); split the "
                  "line").format(count=len(parsed.commands), max=MAX_CHAINED),
            )
            return
        commands = tuple(
            Command(loc, tool, c.verb, c.args, c.options, parsed.global_options, host, index, k)
            for k, c in enumerate(parsed.commands)
        )
        self.invocations.append(
            Invocation(
                index,
                loc,
                tool,
                self._raw(toks),
                tuple(argv),
                host,
                parsed.global_options,
                commands,
                syntax_error=parsed.error,
                after=after,  # type: ignore[arg-type]
            )
        )


def _is_name(tok: Token) -> bool:
    return len(tok.parts) == 1 and tok.parts[0].kind == "lit" and tok.parts[0].value.isidentifier()


def _skip_options(argv: list[str], i: int, with_value: frozenset[str]) -> int:
    """Index of the first word at or after `i` that is not an option (or its value)."""
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        if argv[i] in with_value:
            i += 1
        i += 1
    return i


def _strip_wrappers(argv: list[str]) -> list[str]:
    """What the operator's wrapper runs: `sudo ovn-nbctl ...`, `docker exec ovn_northd
    ovn-nbctl ...`, `kubectl exec -n ovn ovnkube-db-0 -c nb -- ovn-nbctl ...`,
    `microovn.ovn-nbctl ...` -> `ovn-nbctl ...` (the database it acts on is the same)."""
    while argv:
        head = os.path.basename(argv[0])
        if head == "sudo":
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                if len(argv[i]) == 2 and argv[i][1] in _SUDO_VALUE_OPTS:
                    i += 1
                i += 1
            argv = argv[i:]
        elif head in ("docker", "podman", "nerdctl") and len(argv) > 1 and argv[1] == "exec":
            i = _skip_options(argv, 2, _EXEC_VALUE_OPTS)
            argv = argv[i + 1 :]  # the container name
        elif head in ("kubectl", "oc"):
            i = _skip_options(argv, 1, _KUBECTL_VALUE_OPTS)
            if i >= len(argv) or argv[i] != "exec":
                return argv  # another kubectl verb: not something to simulate
            i = _skip_options(argv, i + 1, _KUBECTL_VALUE_OPTS)
            # `POD -- COMMAND...`, or the old form without `--`: `POD COMMAND...`
            argv = argv[argv.index("--", i) + 1 :] if "--" in argv[i:] else argv[i + 1 :]
        elif head.startswith("microovn.") and head != "microovn.":
            # MicroOVN's snap exposes the tools as microovn.ovn-nbctl, microovn.ovs-vsctl...
            argv = [head[len("microovn."):], *argv[1:]]
        elif head == "microovn" and len(argv) > 1 and argv[1] in TOOLS:
            argv = argv[1:]
        else:
            return argv
    return argv


__all__ = ["parse_change", "quote_words", "read_change"]
