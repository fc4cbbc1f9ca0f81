"""A fact and where it came from: the unit of every explanation ovnguard gives."""

from __future__ import annotations

from ovnguard.record import record


@record(slots=True)
class Evidence:
    fact: str  # one sentence, e.g. "br-ex holds port enp6s18"
    source: str = ""  # file path, "change:LINE" or a remote
    table: str | None = None  # OVSDB table, when the fact is a row
    row: str | None = None  # row name or uuid
    host: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"fact": self.fact, "source": self.source}
        if self.table:
            out["table"] = self.table
        if self.row:
            out["row"] = self.row
        if self.host:
            out["host"] = self.host
        return out
