"""The command-line syntax of ovn-nbctl and ovs-vsctl: options, command names, argument counts.

The tables are those of the real tools (OVN 23.03.1 `utilities/ovn-nbctl.c` nbctl_commands[],
OVS 3.1.0 `utilities/ovs-vsctl.c` vsctl_commands[], `lib/db-ctl-base.c` db_ctl_commands[]), so
that a line the real tool would refuse before touching the database (unknown command, wrong
argument count, an option the command does not take) is reported with the tool's own words.
Parsing follows `ctl_parse_commands()`/`parse_command()` and the tools' getopt option tables.
"""

from __future__ import annotations

from ovnguard.change.model import Options
from ovnguard.record import record

INF = 1 << 31


@record(slots=True)
class Syntax:
    name: str
    min_args: int
    max_args: int
    options: str  # e.g. "--may-exist,--add-duplicate" (ctl_command_syntax.options)
    writes: bool


def _table(rows: list[tuple[str, int, int, str, bool]]) -> dict[str, Syntax]:
    return {r[0]: Syntax(*r) for r in rows}


DB_COMMANDS: dict[str, Syntax] = _table(
    [
        ("comment", 0, INF, "", False),
        ("get", 2, INF, "--if-exists,--id=", False),
        ("list", 1, INF, "--if-exists,--columns=", False),
        ("find", 1, INF, "--columns=", False),
        ("set", 3, INF, "--if-exists", True),
        ("add", 4, INF, "--if-exists", True),
        ("remove", 4, INF, "--if-exists", True),
        ("clear", 3, INF, "--if-exists", True),
        ("create", 2, INF, "--id=", True),
        ("destroy", 1, INF, "--if-exists,--all", True),
        ("wait-until", 2, INF, "", False),
    ]
)
NBCTL_COMMANDS: dict[str, Syntax] = _table(
    [
        ("init", 0, 0, "", True),
        ("sync", 0, 0, "", False),
        ("show", 0, 1, "", False),
        ("ls-add", 0, 1, "--may-exist,--add-duplicate", True),
        ("ls-del", 1, 1, "--if-exists", True),
        ("ls-list", 0, 0, "", False),
        (
            "acl-add",
            5,
            6,
            "--log,--may-exist,--type=,--name=,--severity=,--meter=,--label=,--apply-after-lb",
            True,
        ),
        ("acl-del", 1, 4, "--type=", True),
        ("acl-list", 1, 1, "--type=", False),
        ("qos-add", 5, 7, "--may-exist", True),
        ("qos-del", 1, 4, "", True),
        ("qos-list", 1, 1, "", False),
        ("mirror-add", 5, 5, "--may-exist", True),
        ("mirror-del", 0, 1, "", True),
        ("mirror-list", 0, 0, "", False),
        ("meter-add", 4, 5, "--fair,--may-exist", True),
        ("meter-del", 0, 1, "", True),
        ("meter-list", 0, 0, "", False),
        ("lsp-add", 2, 4, "--may-exist", True),
        ("lsp-del", 1, 1, "--if-exists", True),
        ("lsp-list", 1, 1, "", False),
        ("lsp-get-parent", 1, 1, "", False),
        ("lsp-get-tag", 1, 1, "", False),
        ("lsp-set-addresses", 1, INF, "", True),
        ("lsp-get-addresses", 1, 1, "", False),
        ("lsp-set-port-security", 0, INF, "", True),
        ("lsp-get-port-security", 1, 1, "", False),
        ("lsp-get-up", 1, 1, "", False),
        ("lsp-set-enabled", 2, 2, "", True),
        ("lsp-get-enabled", 1, 1, "", False),
        ("lsp-set-type", 2, 2, "", True),
        ("lsp-get-type", 1, 1, "", False),
        ("lsp-set-options", 1, INF, "", True),
        ("lsp-get-options", 1, 1, "", False),
        ("lsp-set-dhcpv4-options", 1, 2, "", True),
        ("lsp-get-dhcpv4-options", 1, 1, "", False),
        ("lsp-set-dhcpv6-options", 1, 2, "", True),
        ("lsp-get-dhcpv6-options", 1, 1, "", False),
        ("lsp-get-ls", 1, 1, "", False),
        ("lsp-attach-mirror", 2, 2, "--may-exist", True),
        ("lsp-detach-mirror", 2, 2, "", True),
        ("fwd-group-add", 4, INF, "--liveness", True),
        ("fwd-group-del", 1, 1, "--if-exists", True),
        ("fwd-group-list", 0, 1, "", False),
        ("lr-add", 0, 1, "--may-exist,--add-duplicate", True),
        ("lr-del", 1, 1, "--if-exists", True),
        ("lr-list", 0, 0, "", False),
        ("lrp-add", 4, INF, "--may-exist", True),
        ("lrp-set-gateway-chassis", 2, 3, "--may-exist", True),
        ("lrp-set-options", 1, INF, "", True),
        ("lrp-del-gateway-chassis", 2, 2, "", True),
        ("lrp-get-gateway-chassis", 1, 1, "", False),
        ("lrp-del", 1, 1, "--if-exists", True),
        ("lrp-list", 1, 1, "", False),
        ("lrp-set-enabled", 2, 2, "", True),
        ("lrp-get-enabled", 1, 1, "", False),
        ("lrp-set-redirect-type", 2, 2, "", True),
        ("lrp-get-redirect-type", 1, 1, "", False),
        (
            "lr-route-add",
            3,
            4,
            "--may-exist,--ecmp,--ecmp-symmetric-reply,--policy=,--route-table=,--bfd?",
            True,
        ),
        ("lr-route-del", 1, 4, "--if-exists,--policy=,--route-table=", True),
        ("lr-route-list", 1, 1, "--route-table=", False),
        ("lr-policy-add", 4, INF, "--may-exist", True),
        ("lr-policy-del", 1, 3, "--if-exists", True),
        ("lr-policy-list", 1, 1, "", False),
        (
            "lr-nat-add",
            4,
            7,
            "--may-exist,--stateless,--portrange,--add-route,--gateway-port=",
            True,
        ),
        ("lr-nat-del", 1, 4, "--if-exists", True),
        ("lr-nat-list", 1, 1, "", False),
        ("lr-nat-update-ext-ip", 4, 4, "--is-exempted", True),
        (
            "lb-add",
            3,
            5,
            "--may-exist,--add-duplicate,--reject,--event,--add-route,--template",
            True,
        ),
        ("lb-del", 1, 2, "--if-exists", True),
        ("lb-list", 0, 1, "", False),
        ("lr-lb-add", 2, 2, "--may-exist", True),
        ("lr-lb-del", 1, 2, "--if-exists", True),
        ("lr-lb-list", 1, 1, "", False),
        ("ls-lb-add", 2, 2, "--may-exist", True),
        ("ls-lb-del", 1, 2, "--if-exists", True),
        ("ls-lb-list", 1, 1, "", False),
        ("dhcp-options-create", 1, INF, "", True),
        ("dhcp-options-del", 1, 1, "", True),
        ("dhcp-options-list", 0, 0, "", False),
        ("dhcp-options-set-options", 1, INF, "", True),
        ("dhcp-options-get-options", 1, 1, "", False),
        ("copp-add", 3, 3, "", True),
        ("copp-del", 1, 2, "", True),
        ("copp-list", 1, 1, "", False),
        ("ls-copp-add", 2, 2, "", True),
        ("lr-copp-add", 2, 2, "", True),
        ("get-connection", 0, 0, "", False),
        ("del-connection", 0, 0, "", True),
        ("set-connection", 1, INF, "--inactivity-probe=", True),
        ("get-ssl", 0, 0, "", False),
        ("del-ssl", 0, 0, "", True),
        ("set-ssl", 3, 5, "--bootstrap", True),
        ("pg-add", 1, INF, "", True),
        ("pg-set-ports", 2, INF, "", True),
        ("pg-del", 1, 1, "", True),
        ("ha-chassis-group-add", 1, 1, "", True),
        ("ha-chassis-group-del", 1, 1, "", True),
        ("ha-chassis-group-list", 0, 0, "", False),
        ("ha-chassis-group-add-chassis", 3, 3, "", True),
        ("ha-chassis-group-remove-chassis", 2, 2, "", True),
        ("ha-chassis-group-set-chassis-prio", 3, 3, "", True),
        ("static-mac-binding-add", 3, 3, "--may-exist", True),
        ("static-mac-binding-del", 2, 2, "--if-exists", True),
        ("static-mac-binding-list", 0, 0, "", False),
    ]
)
# OVN 23.03.1 utilities/ovn-sbctl.c sbctl_commands[] (`ovn-sbctl --commands`).
SBCTL_COMMANDS: dict[str, Syntax] = _table(
    [
        ("init", 0, 0, "", True),
        ("show", 0, 0, "", False),
        ("chassis-add", 3, 3, "--may-exist", True),
        ("chassis-del", 1, 1, "--if-exists", True),
        ("lsp-bind", 2, 2, "--may-exist", True),
        ("lsp-unbind", 1, 1, "--if-exists", True),
        ("lflow-list", 0, INF, "--uuid,--ovs?,--stats,--vflows?", False),
        ("dump-flows", 0, INF, "--uuid,--ovs?,--stats,--vflows?", False),
        ("count-flows", 0, 1, "", False),
        ("ip-multicast-flush", 1, 1, "", True),
        ("get-connection", 0, 0, "", False),
        ("del-connection", 0, 0, "", True),
        ("set-connection", 1, INF, "--inactivity-probe=", True),
        ("get-ssl", 0, 0, "", False),
        ("del-ssl", 0, 0, "", True),
        ("set-ssl", 3, 5, "--bootstrap", True),
    ]
)
VSCTL_COMMANDS: dict[str, Syntax] = _table(
    [
        ("init", 0, 0, "", True),
        ("add-br", 1, 3, "--may-exist", True),
        ("del-br", 1, 1, "--if-exists", True),
        ("list-br", 0, 0, "--real,--fake", False),
        ("br-exists", 1, 1, "", False),
        ("br-to-vlan", 1, 1, "", False),
        ("br-to-parent", 1, 1, "", False),
        ("br-set-external-id", 2, 3, "", True),
        ("br-get-external-id", 1, 2, "", False),
        ("list-ports", 1, 1, "", False),
        ("add-port", 2, INF, "--may-exist", True),
        ("del-port", 1, 2, "--if-exists,--with-iface", True),
        ("port-to-br", 1, 1, "", False),
        ("add-bond", 4, INF, "--may-exist,--fake-iface", True),
        ("add-bond-iface", 2, 2, "--may-exist", True),
        ("del-bond-iface", 1, 2, "--if-exists", True),
        ("list-ifaces", 1, 1, "", False),
        ("iface-to-br", 1, 1, "", False),
        ("get-controller", 1, 1, "", False),
        ("del-controller", 1, 1, "", True),
        ("set-controller", 1, INF, "--inactivity-probe=", True),
        ("get-fail-mode", 1, 1, "", False),
        ("del-fail-mode", 1, 1, "", True),
        ("set-fail-mode", 2, 2, "", True),
        ("get-manager", 0, 0, "", False),
        ("del-manager", 0, 0, "", True),
        ("set-manager", 1, INF, "--inactivity-probe=", True),
        ("get-ssl", 0, 0, "", False),
        ("del-ssl", 0, 0, "", True),
        ("set-ssl", 3, 3, "--bootstrap", True),
        ("add-aa-mapping", 3, 3, "", True),
        ("del-aa-mapping", 3, 3, "", True),
        ("get-aa-mapping", 1, 1, "", False),
        ("emer-reset", 0, 0, "", True),
        ("add-zone-tp", 3, INF, "--may-exist", True),
        ("del-zone-tp", 2, 2, "--if-exists", True),
        ("list-zone-tp", 1, 1, "", False),
        ("list-dp-cap", 1, 1, "", False),
        ("show", 0, 0, "", False),
    ]
)


@record(slots=True)
class _Opt:
    name: str  # without dashes
    arg: int  # 0 none, 1 required, 2 optional
    short: str = ""


def _opts(spec: str) -> dict[str, _Opt]:
    """`db=ARG t|timeout=ARG v|verbose=?`: the long options of a tool's `--options` listing."""
    out: dict[str, _Opt] = {}
    for item in spec.split():
        short = ""
        if "|" in item:
            short, item = item.split("|", 1)
        name, _, arg = item.partition("=")
        out[name] = _Opt(name, {"": 0, "ARG": 1, "?": 2}[arg], short)
    return out


# From `ovn-nbctl --options` / `ovs-vsctl --options` (23.03.1 / 3.1.0), less the command-local
# options, which come from the command tables above.
_NBCTL_GLOBAL = _opts(
    "db=ARG no-syslog h|help commands options leader-only no-leader-only shuffle-remotes "
    "no-shuffle-remotes V|version u|unixctl=ARG no-wait wait=ARG print-wait-time dry-run "
    "oneline t|timeout=ARG detach no-self-confinement no-chdir pidfile=? overwrite-pidfile "
    "monitor user=ARG v|verbose=? log-file=? syslog-method=ARG syslog-target=ARG "
    "p|private-key=ARG c|certificate=ARG C|ca-cert=ARG ssl-protocols=ARG ssl-ciphers=ARG "
    "bootstrap-ca-cert=ARG f|format=ARG d|data=ARG no-headings pretty bare "
    "max-column-width=ARG"
)
_VSCTL_GLOBAL = _opts(
    "db=ARG no-syslog no-wait dry-run oneline t|timeout=ARG retry h|help commands options "
    "leader-only no-leader-only shuffle-remotes no-shuffle-remotes V|version v|verbose=? "
    "log-file=? syslog-method=ARG syslog-target=ARG f|format=ARG d|data=ARG no-headings "
    "pretty bare max-column-width=ARG p|private-key=ARG c|certificate=ARG C|ca-cert=ARG "
    "ssl-protocols=ARG ssl-ciphers=ARG bootstrap-ca-cert=ARG peer-ca-cert=ARG"
)
# Global options (long names and short letters, no dashes) that take a value, possibly as the
# next word, in either tool.
GLOBAL_OPTIONS_WITH_VALUE = frozenset(
    n
    for table in (_NBCTL_GLOBAL, _VSCTL_GLOBAL)
    for o in table.values()
    if o.arg == 1
    for n in (o.name, o.short)
    if n
)
# Options after which the tool prints something and exits without a transaction.
INFO_OPTIONS = frozenset({"--help", "--version", "--commands", "--options"})


def commands_of(tool: str) -> dict[str, Syntax]:
    if tool == "ovn-nbctl":
        return {**DB_COMMANDS, **NBCTL_COMMANDS}
    if tool == "ovn-sbctl":
        return {**DB_COMMANDS, **SBCTL_COMMANDS}
    return {**DB_COMMANDS, **VSCTL_COMMANDS}


def _local_opts(commands: dict[str, Syntax]) -> dict[str, _Opt]:
    out: dict[str, _Opt] = {}
    for syn in commands.values():
        for o in filter(None, syn.options.split(",")):
            name = o.lstrip("-").rstrip("=?")
            arg = 1 if o.endswith("=") else 2 if o.endswith("?") else 0
            out.setdefault(name, _Opt(name, arg))
    return out


@record(slots=True)
class ParsedCommand:
    verb: str
    args: tuple[str, ...]
    options: Options


@record(slots=True)
class ParsedLine:
    global_options: Options
    commands: tuple[ParsedCommand, ...]
    error: str | None = None  # the tool's message, without the "prog: " prefix
    info_only: bool = False  # --help/--version: prints and exits, no transaction


def parse_ctl_argv(tool: str, argv: list[str]) -> ParsedLine:
    """Split `argv` (after the program name) like the real tool's main() does."""
    commands = commands_of(tool)
    glob = _VSCTL_GLOBAL if tool == "ovs-vsctl" else _NBCTL_GLOBAL
    local = _local_opts(commands)
    every = {**local, **glob}
    shorts = {o.short: o for o in every.values() if o.short}
    gopts: list[tuple[str, str | None]] = []
    lopts: list[tuple[str, str | None]] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if not a.startswith("-") or a == "-":
            break
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            opt = every.get(name)
            if opt is None:
                cands = [o for n, o in every.items() if n.startswith(name)]
                opt = cands[0] if len(cands) == 1 else None
            if opt is None:
                return ParsedLine((), (), f"unrecognized option '{a}'")
            value: str | None = val if eq else None
            if opt.arg == 0 and eq:
                return ParsedLine((), (), f"option '--{opt.name}' doesn't allow an argument")
            if opt.arg == 1 and not eq:
                if i + 1 >= len(argv):
                    return ParsedLine((), (), f"option '--{opt.name}' requires an argument")
                i += 1
                value = argv[i]
        else:
            opt = shorts.get(a[1])
            if opt is None:
                return ParsedLine((), (), f"invalid option -- '{a[1]}'")
            value = a[2:] or None
            if opt.arg == 1 and value is None:
                if i + 1 >= len(argv):
                    return ParsedLine((), (), f"option requires an argument -- '{a[1]}'")
                i += 1
                value = argv[i]
        i += 1
        key = f"--{opt.name}"
        if opt.name in local and opt.name not in glob:
            if any(k == key for k, _ in lopts):
                return ParsedLine((), (), f"'{key}' option specified multiple times")
            lopts.append((key, value))
        else:
            gopts.append((key, value))
    gopts_t = tuple(gopts)
    err = _check_globals(tool, gopts_t)
    if err:
        return ParsedLine(gopts_t, (), err)
    if any(k in INFO_OPTIONS for k, _ in gopts_t):
        return ParsedLine(gopts_t, (), None, info_only=True)

    rest = argv[i:]
    out: list[ParsedCommand] = []
    start = 0
    pending: list[tuple[str, str | None]] = lopts
    for j in range(len(rest) + 1):
        if j == len(rest) or rest[j] == "--":
            seg = rest[start:j]
            if seg:
                cmd, error = _parse_command(seg, pending, commands)
                if error:
                    return ParsedLine(gopts_t, (), error)
                assert cmd is not None
                out.append(cmd)
                pending = []
            elif pending:
                return ParsedLine(gopts_t, (), "missing command name (use --help for help)")
            start = j + 1
    if not out:
        return ParsedLine(gopts_t, (), "missing command name (use --help for help)")
    return ParsedLine(gopts_t, tuple(out))


def _check_globals(tool: str, gopts: Options) -> str | None:
    for k, v in gopts:
        if k == "--wait" and tool == "ovn-nbctl" and v not in ("none", "sb", "hv"):
            return 'argument to --wait must be "none", "sb", or "hv"'
        if k == "--timeout" and (v is None or not v.isdigit() or int(v) == 0):
            return f"value {v} on -t or --timeout is invalid"
    return None


def _parse_command(
    seg: list[str], local: list[tuple[str, str | None]], commands: dict[str, Syntax]
) -> tuple[ParsedCommand | None, str | None]:
    """db-ctl-base.c parse_command()."""
    options = list(local)
    i = 0
    while i < len(seg) and seg[i].startswith("-"):
        key, eq, val = seg[i].partition("=")
        if any(k == key for k, _ in options):
            return None, f"'{seg[i]}' option specified multiple times"
        options.append((key, val if eq else None))
        i += 1
    if i == len(seg):
        return None, "missing command name (use --help for help)"
    verb = seg[i]
    syn = commands.get(verb)
    if syn is None:
        return None, f"unknown command '{verb}'; use --help for help"
    for key, optval in options:
        pos = syn.options.find(key)
        end = syn.options[pos + len(key)] if pos >= 0 and pos + len(key) < len(syn.options) else ""
        if pos < 0 or end not in ("=", ",", "?", " ", ""):
            return None, f"'{verb}' command has no '{key}' option"
        if end != "?" and (end == "=") != (optval is not None):
            if end == "=":
                return None, f"missing argument to '{key}' option on '{verb}' command"
            return None, f"'{key}' option on '{verb}' does not accept an argument"
    args = seg[i + 1 :]
    if len(args) < syn.min_args:
        return None, f"'{verb}' command requires at least {syn.min_args} arguments"
    if len(args) > syn.max_args:
        if any(a.startswith("-") for a in args):
            return None, (
                f"'{verb}' command takes at most {syn.max_args} arguments "
                '(note that options must precede command names and follow a "--" argument)'
            )
        return None, f"'{verb}' command takes at most {syn.max_args} arguments"
    return ParsedCommand(verb, tuple(args), tuple(options)), None


# Global options that point a tool somewhere else, make it wait for other daemons, or change
# how it runs as a process: the executor (realtools.py) sets the database and never waits.
EXECUTOR_DROPS = frozenset(
    {"db", "timeout", "t", "unixctl", "u", "detach", "no-chdir", "no-self-confinement",
     "pidfile", "overwrite-pidfile", "monitor", "user", "log-file", "syslog-method",
     "syslog-target", "private-key", "p", "certificate", "c", "ca-cert", "C",
     "bootstrap-ca-cert", "peer-ca-cert", "ssl-protocols", "ssl-ciphers", "no-syslog",
     "wait", "no-wait", "print-wait-time", "leader-only", "no-leader-only",
     "shuffle-remotes", "no-shuffle-remotes", "retry", "verbose", "v"}
)


def strip_global_options(argv: tuple[str, ...] | list[str], drop: frozenset[str]) -> list[str]:
    """`argv` without the leading global options named in `drop` (and their values)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--" or not a.startswith("-") or a == "-":
            out.extend(argv[i:])
            break
        if a.startswith("--"):
            name, eq, _ = a[2:].partition("=")
            takes_next = name in GLOBAL_OPTIONS_WITH_VALUE and not eq
        else:
            name = a[1:2]
            takes_next = name in GLOBAL_OPTIONS_WITH_VALUE and len(a) == 2
        span = argv[i : i + (2 if takes_next else 1)]
        if name not in drop:
            out.extend(span)
        i += len(span)
    return out
