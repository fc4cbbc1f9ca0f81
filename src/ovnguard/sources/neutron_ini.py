"""Read Neutron's configuration files the way Neutron itself reads them (oslo.config).

Why not `configparser`: oslo.config has its own parser (oslo_config/iniparser.py) whose rules
differ in ways that change what a file means -- values are not interpolated (`%` is literal),
`key: value` and `key = value` are both assignments (whichever separator comes first), a
pair of matching quotes around a value is removed, an indented line continues the previous
value (joined with a newline) and a blank line ends it, `#`/`;` start a comment only at the
start of a line (an inline `# ...` is part of the value), and a key repeated in a section
(or a section repeated in a file) keeps every value; for a single-valued option the last
one wins, which is what `neutron` will use and what this module keeps. Section names are
matched the way oslo.config looks groups up: `DEFAULT` as is, every other name lowercased.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.sources import safeio
from ovnguard.sources.redact import redact_ini, was_redacted

IniSections = dict[str, dict[str, str]]

# Both forms hold oslo.config options (neutron.conf, plugins/ml2/*.ini, *_agent.ini).
CONFIG_SUFFIXES = (".ini", ".conf")


def _section_key(name: str) -> str:
    return name if name == "DEFAULT" else name.lower()


def parse_ini(text: str, source: str) -> IniSections:
    """Parse one oslo.config file: section -> key -> value (last assignment wins)."""
    sections: IniSections = {}
    section: str | None = None
    key: str | None = None
    value: list[str] = []
    key_line = 0

    def flush() -> None:
        nonlocal key, value
        if key is not None:
            if section is None:
                raise InputError(
                    _(
                            "assignment before any [section] (oslo.config: 'Section must be "
                            "started before assignment')"),
                    source,
                    key_line,
                )
            sections[section][key] = "\n".join(value)
        key, value = None, []

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line:
            flush()
            continue
        if line.startswith((" ", "\t")):
            if key is None:
                raise InputError(
                    _("unexpected continuation line (indented, but no assignment above it)"),
                    source,
                    lineno,
                )
            value.append(line.lstrip())
            continue
        flush()
        if line.startswith("["):
            if not line.endswith("]"):
                raise InputError(_("invalid section header (must end with ])"), source, lineno)
            if len(line) <= 2:
                raise InputError(_("empty section name"), source, lineno)
            section = _section_key(line[1:-1])
            sections.setdefault(section, {})
        elif line.startswith(("#", ";")):
            continue
        else:
            colon = line.find(":")
            equal = line.find("=")
            if colon < 0 and equal < 0:
                raise InputError(_("not 'key = value', a [section] or a comment"), source, lineno)
            cut = equal if colon < 0 or (0 <= equal < colon) else colon
            k, v = line[:cut].strip(), line[cut + 1 :].strip()
            if not k:
                raise InputError(_("empty key"), source, lineno)
            if v and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            key, value, key_line = k, [v], lineno
    flush()
    return sections


def read_ini(path: str | Path, source: str | None = None) -> IniSections:
    p = Path(path)
    src = source or str(p)
    return parse_ini(safeio.read_text(p, src), src)


def config_files(etc_dir: Path) -> list[Path]:
    """Candidate config files under `etc_dir/neutron`, sorted (rootwrap filters and policy
    files are not oslo.config files and are left alone)."""
    base = etc_dir / "neutron"
    if not safeio.is_dir(base):
        return []

    def fail(e: OSError) -> None:  # an unreadable subdirectory is an error, not an absence
        raise safeio.os_error(e, e.filename or str(base), "cannot list directory")

    out: list[Path] = []
    for d, _dirs, files in os.walk(base, onerror=fail):
        for n in files:
            p = Path(d) / n
            # a FIFO or device with a config name is kept so that the reader refuses it
            if p.suffix in CONFIG_SUFFIXES and p.exists() and not p.is_dir():
                out.append(p)
    return sorted(out)


def _has_section(text: str) -> bool:
    return any(line.startswith("[") for line in text.splitlines())


def read_neutron(
    etc_dir: str | Path, label: str = "etc"
) -> tuple[dict[str, Mapping[str, Mapping[str, str]]], list[str]]:
    """Every Neutron config file under `etc_dir/neutron`, keyed by its path relative to
    `etc_dir` (e.g. "neutron/plugins/ml2/ml2_conf.ini"), and notes on files left out.

    A `.conf` beside Neutron's may belong to something else (dnsmasq-neutron.conf is dnsmasq
    syntax, no sections): a file with no `[section]` at all cannot hold an oslo.config
    option, so it is skipped with a note instead of failing the whole bundle. `label` is how
    notes name `etc_dir` (e.g. "hosts/compute1/etc").
    """
    etc = Path(etc_dir)
    out: dict[str, Mapping[str, Mapping[str, str]]] = {}
    notes: list[str] = []
    for f in config_files(etc):
        rel = f.relative_to(etc).as_posix()
        text = safeio.read_text(f)
        if was_redacted(text):
            notes.append(f"{label}/{rel}: secret values were redacted when it was collected")
        else:
            # a bundle not written by `collect` (contrib/ansible/collect.yml, a copy by
            # hand): its secrets are left out here, so no report can print them
            r = redact_ini(text)
            if r.count:
                text = r.text
                notes.append(f"{label}/{rel}: {r.count} secret value(s) ({', '.join(r.keys)}) "
                             "not used; the file in the bundle still holds them "
                             "(docs/security.md)")
        if text and not _has_section(text):
            notes.append(f"{label}/{rel} has no [section], so it is not an oslo.config file: "
                         "ignored")
            continue
        out[rel] = parse_ini(text, str(f))
    return out, notes
