"""Read a change file the way sh would read it, without ever running a shell.

Supported, because operators paste exactly this: words with '...', "..." and \\ quoting (POSIX
rules, quotes may span lines), `\\<newline>` continuations, `# comments`, `NAME=value` and
`export NAME=value`, `$NAME` / `${NAME}` expansion (field-split when unquoted, like sh), and
`;` / `&&` between commands. Everything else sh would do -- pipes, `||`, `&`, redirections,
`$(...)`, backquotes, `${X:-y}`, `$1`, `~`, brace expansion, loops -- is not guessed at: the
line becomes an `unsupported-command` problem naming it.

Why not `shlex.split`: it cannot tell which parts of a word were single-quoted (no expansion),
double-quoted (expansion, no field splitting) or bare (both), and it cannot report the line of
each word. `shlex.quote` is what renders words back into command text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

from ovnguard.errors import InputError
from ovnguard.i18n import _

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOST_COMMENT = re.compile(r"#\s*host\s*:\s*(\S*)\s*$")
# Characters with no meaning to sh outside quotes (after a word's first one: `#` is literal
# inside a word), and inside double quotes.
_PLAIN = re.compile(r"[^\\\n \t\r'\"$`|&;<>()]+")
_PLAIN_DQ = re.compile(r"[^\\\"$`]+")


def quote_words(words: Iterable[str]) -> str:
    return " ".join(shlex.quote(w) for w in words)


@dataclass(slots=True)
class Part:
    kind: str  # "lit" | "var" | "bad"
    value: str  # literal text, variable name, or what is unsupported
    quoted: bool = False


@dataclass(slots=True)
class Token:
    kind: str  # "word" | "op" | "nl" | "host"
    line: int
    start: int  # offset in the text
    end: int = 0
    parts: list[Part] = field(default_factory=list)
    op: str = ""

    @property
    def literal_prefix(self) -> str:
        """The unquoted literal text the word starts with (for `NAME=` detection)."""
        out = ""
        for p in self.parts:
            if p.kind != "lit" or p.quoted:
                break
            out += p.value
        return out


class _Lexer:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.i = 0
        self.line = 1
        self.tokens: list[Token] = []
        self.cur: Token | None = None
        self.line_has_tokens = False

    def _word(self) -> Token:
        if self.cur is None:
            self.cur = Token("word", self.line, self.i)
        return self.cur

    def _lit(self, s: str, quoted: bool) -> None:
        w = self._word()
        if w.parts and w.parts[-1].kind == "lit" and w.parts[-1].quoted == quoted:
            w.parts[-1].value += s
        else:
            w.parts.append(Part("lit", s, quoted))

    def _end_word(self) -> None:
        if self.cur is not None:
            self.cur.end = self.i
            self.tokens.append(self.cur)
            self.cur = None
            self.line_has_tokens = True

    def run(self) -> list[Token]:
        t, n = self.text, len(self.text)
        while self.i < n:
            c = t[self.i]
            if c == "\\":
                if self.i + 1 < n and t[self.i + 1] == "\n":
                    self.i += 2
                    self.line += 1
                elif self.i + 1 < n:
                    self._word()
                    self._lit(t[self.i + 1], True)
                    self.i += 2
                else:
                    self.i += 1
            elif c == "\n":
                self._end_word()
                self.tokens.append(Token("nl", self.line, self.i, self.i + 1))
                self.line_has_tokens = False
                self.line += 1
                self.i += 1
            elif c in " \t\r":
                self._end_word()
                self.i += 1
            elif c == "#" and self.cur is None:
                j = t.find("\n", self.i)
                j = n if j < 0 else j
                m = _HOST_COMMENT.match(t[self.i : j])
                if m and not self.line_has_tokens:
                    tok = Token("host", self.line, self.i, j)
                    tok.op = m.group(1)
                    self.tokens.append(tok)
                self.i = j
            elif c == "'":
                self._word()
                j = t.find("'", self.i + 1)
                if j < 0:
                    raise InputError(_("unterminated single quote"), self.path, self.line)
                s = t[self.i + 1 : j]
                self._lit(s, True)
                self.line += s.count("\n")
                self.i = j + 1
            elif c == '"':
                self._double()
            elif c == "$":
                self._dollar(False)
            elif c == "`":
                self._word()
                j = t.find("`", self.i + 1)
                j = n - 1 if j < 0 else j
                self._bad(_("command substitution `...`"), self.i, j + 1)
            elif c in "|&;<>()":
                self._end_word()
                op = c
                if t[self.i : self.i + 2] in ("&&", "||", ">>", "<<", ">&", "<&", "&>"):
                    op = t[self.i : self.i + 2]
                self.tokens.append(Token("op", self.line, self.i, self.i + len(op), op=op))
                self.line_has_tokens = True
                self.i += len(op)
            else:
                # A run of plain characters at once: one by one, a long word would be
                # rebuilt per character (quadratic; a 1 MiB word took 18 s).
                m = _PLAIN.match(t, self.i)
                assert m is not None
                self._lit(m.group(0), False)
                self.i = m.end()
        self._end_word()
        return self.tokens

    def _bad(self, what: str, start: int, end: int) -> None:
        self._word().parts.append(Part("bad", what))
        self.line += self.text.count("\n", start, end)
        self.i = end

    def _double(self) -> None:
        t, n = self.text, len(self.text)
        start_line = self.line
        self._word()
        self._lit("", True)  # "" is an (empty) word of its own
        self.i += 1
        while True:
            if self.i >= n:
                raise InputError(_("unterminated double quote"), self.path, start_line)
            c = t[self.i]
            if c == '"':
                self.i += 1
                return
            if c == "\\" and self.i + 1 < n and t[self.i + 1] in '$`"\\\n':
                if t[self.i + 1] == "\n":
                    self.line += 1
                else:
                    self._lit(t[self.i + 1], True)
                self.i += 2
            elif c == "$":
                self._dollar(True)
            elif c == "`":
                j = t.find("`", self.i + 1)
                if j < 0:
                    raise InputError(_("unterminated double quote"), self.path, start_line)
                self._bad(_("command substitution `...`"), self.i, j + 1)
            else:
                m = _PLAIN_DQ.match(t, self.i)
                if m is None:  # a backslash before an ordinary character stays (bash)
                    self._lit("\\", True)
                    self.i += 1
                    continue
                self.line += m.group(0).count("\n")
                self._lit(m.group(0), True)
                self.i = m.end()

    def _dollar(self, quoted: bool) -> None:
        t, n, i = self.text, len(self.text), self.i
        nxt = t[i + 1] if i + 1 < n else ""
        w = self._word()
        if nxt == "{":
            j = t.find("}", i + 2)
            if j < 0:
                self._bad(_("${ without }"), i, n)
                return
            inner = t[i + 2 : j]
            if _NAME.fullmatch(inner):
                w.parts.append(Part("var", inner, quoted))
                self.i = j + 1
            else:
                self._bad(f"${{{inner}}}", i, j + 1)
        elif nxt == "(":
            self._bad(_("command substitution $(...)"), i, _matching_paren(t, i + 1))
        elif nxt and nxt.isascii() and (nxt.isalpha() or nxt == "_"):  # $Ü is literal
            m = _NAME.match(t, i + 1)
            assert m is not None
            w.parts.append(Part("var", m.group(0), quoted))
            self.i = m.end()
        elif nxt and nxt in "0123456789@*#?$!-":
            self._bad(f"${nxt}", i, i + 2)
        elif nxt == "'" and not quoted:
            j = t.find("'", i + 2)
            self._bad(_("$'...' quoting"), i, n if j < 0 else j + 1)
        else:
            self._lit("$", quoted)
            self.i += 1


def _matching_paren(t: str, i: int) -> int:
    depth = 0
    while i < len(t):
        if t[i] == "(":
            depth += 1
        elif t[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(t)


def tokenize(text: str, path: str) -> list[Token]:
    return _Lexer(text, path).run()


class Undefined(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class Unsupported(Exception):
    pass


def expand_word(tok: Token, variables: dict[str, str | None], split: bool = True) -> list[str]:
    """sh word expansion: parameters, then field splitting of unquoted results.

    A variable whose value is None was assigned from something undefined: it is undefined too.
    """
    missing = [p.value for p in tok.parts if p.kind == "var" and variables.get(p.value) is None]
    if missing:
        raise Undefined(list(dict.fromkeys(missing)))
    bad = [p.value for p in tok.parts if p.kind == "bad"]
    if bad:
        raise Unsupported(bad[0])
    fields: list[str] = []
    cur: str | None = None
    for p in tok.parts:
        if p.kind == "lit":
            if not p.quoted and _brace_expansion(p.value):
                raise Unsupported(_("brace expansion {value} (quote it)").format(
                    value=repr(p.value)))
            if not p.quoted and cur is None and p.value.startswith("~") and not fields:
                raise Unsupported(_("tilde expansion ~"))
            cur = (cur or "") + p.value
            continue
        value = variables[p.value] or ""
        if p.quoted or not split:
            cur = (cur or "") + value
            continue
        pieces = value.split()
        if not pieces:
            continue
        if value[:1].isspace() and cur is not None:
            fields.append(cur)
            cur = None
        for k, piece in enumerate(pieces):
            if k == 0:
                cur = (cur or "") + piece
            else:
                assert cur is not None
                fields.append(cur)
                cur = piece
        if value[-1:].isspace():
            assert cur is not None
            fields.append(cur)
            cur = None
    if cur is not None:
        fields.append(cur)
    return fields


def _brace_expansion(s: str) -> bool:
    # bash turns a{b,c} into two words; a{b} and {} stay literal.
    return re.search(r"\{[^{}]*,[^{}]*\}", s) is not None


def split_assignment(tok: Token) -> tuple[str, Token] | None:
    """`NAME=value` -> (NAME, a token holding only the value parts)."""
    prefix = tok.literal_prefix
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=", prefix)
    if not m:
        return None
    name = m.group(1)
    skip = len(m.group(0))
    parts: list[Part] = []
    for p in tok.parts:
        if skip and p.kind == "lit" and not p.quoted:
            take = min(skip, len(p.value))
            rest = p.value[take:]
            skip -= take
            if rest:
                parts.append(Part("lit", rest, False))
        else:
            parts.append(p)
    return name, Token("word", tok.line, tok.start, tok.end, parts)
