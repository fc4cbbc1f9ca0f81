"""Secrets stay on the host: what `collect` and the sos reader take from Neutron's
configuration is redacted before it is written to a bundle or kept in memory.

Neutron's files hold the message queue and database passwords (`transport_url`,
`[database] connection`), Keystone credentials (`password`, `auth_url` with a user in it),
the metadata proxy's shared secret and sometimes inline PEM keys. ovnguard reads none of
them: its rules look at mappings, types and OVN connection settings. So, by default:
- the value of a key named `password`, `*_password`, `*_passwd`, `*secret*`, `*_token`, or
  any key holding a private key, is replaced by `<redacted>`;
- in every other value, the password of a URL (`scheme://user:PASSWORD@host`, and each
  `user:PASSWORD@host` of a multi-host `transport_url`) is replaced by `<redacted>`;
- a PEM private key block anywhere in the file is replaced by one `<redacted>` line.
A redacted file starts with a comment that says so; the bundle reader turns it into a note.
`ovnguard collect --keep-secrets` keeps everything (for a bundle that never leaves the host).
"""

from __future__ import annotations

import re

from ovnguard.record import record

REDACTED = "<redacted>"
MARK = "# ovnguard: "
HEADER = (f"{MARK}{{n}} secret value(s) redacted at collection "
          "(`ovnguard collect --keep-secrets` keeps them)\n")

_SECRET_KEY = re.compile(
    r"^(?:password|passwd|.*_password|.*_passwd|.*secret.*|.*_token|token|.*private_key|"
    r"ssl_key|key_password)$", re.IGNORECASE)
# user:password@ after "scheme://" or after a "," (multi-host transport_url)
_URL_PASSWORD = re.compile(r"((?:[A-Za-z][A-Za-z0-9+.-]*://|,)[^:/@,\s]*:)([^@\s,/]*)@")
_PEM = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----",
                  re.DOTALL)


@record
class Redaction:
    text: str
    count: int
    keys: tuple[str, ...]  # keys whose values (or parts) were redacted, for the notes


def redact_ini(text: str) -> Redaction:
    """`text` (an oslo.config file) with its secrets replaced (see the module doc)."""
    count = 0
    keys: list[str] = []
    text, n = _PEM.subn(REDACTED, text)
    if n:
        count += n
        keys.append("PEM private key")
    out: list[str] = []
    secret_value = False  # inside the continuation lines of a secret key
    for line in text.split("\n"):
        stripped = line.strip()
        if line.startswith((" ", "\t")) and stripped:
            if secret_value:
                out.append(line[: len(line) - len(line.lstrip())] + REDACTED)
                count += 1
                continue
        else:
            secret_value = False
        if not stripped or stripped.startswith(("#", ";", "[")) or line[0] in " \t":
            out.append(line)
            continue
        colon, equal = line.find(":"), line.find("=")
        if colon < 0 and equal < 0:
            out.append(line)
            continue
        cut = equal if colon < 0 or (0 <= equal < colon) else colon
        key, value = line[:cut].strip(), line[cut + 1:]
        if _SECRET_KEY.match(key) and value.strip():
            out.append(f"{line[:cut + 1]} {REDACTED}")
            count += 1
            keys.append(key)
            secret_value = True
            continue
        new, n = _URL_PASSWORD.subn(lambda m: m.group(1) + REDACTED + "@", value)
        if n:
            count += n
            keys.append(key)
        out.append(line[:cut + 1] + new)
    return Redaction("\n".join(out), count, tuple(dict.fromkeys(keys)))


def redact_file(data: bytes) -> tuple[bytes, Redaction]:
    """A Neutron config file's bytes, redacted, with the header saying so when anything
    was. Bytes that are not UTF-8 are redacted on their lossless surrogate form."""
    text = data.decode("utf-8", errors="surrogateescape")
    r = redact_ini(text)
    if not r.count:
        return data, r
    return (HEADER.format(n=r.count) + r.text).encode("utf-8", errors="surrogateescape"), r


def was_redacted(text: str) -> bool:
    return text.startswith(MARK) and "redacted at collection" in text.split("\n", 1)[0]


def redact_files(files: dict[str, bytes], keep_hint: bool = True) -> list[str]:
    """Redact every file of `files` in place (bundle path -> bytes); one note per file
    that held secrets (naming the keys, never the values). `keep_hint`: the note says that
    `collect --keep-secrets` keeps them (not for `check --sosreport`, which has no such
    option and writes nothing)."""
    notes: list[str] = []
    for rel in sorted(files):
        new, r = redact_file(files[rel])
        if r.count:
            files[rel] = new
            notes.append(f"etc/{rel}: {r.count} secret value(s) redacted ({', '.join(r.keys)})"
                         + ("; `--keep-secrets` keeps them" if keep_hint else ""))
    return notes
