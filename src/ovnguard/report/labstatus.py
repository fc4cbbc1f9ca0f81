"""`ovnguard lab status` for a terminal: each daemon, each chassis."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ovnguard.lab.state import LabStatus
    from ovnguard.report.formats import RenderOptions


def write_text(st: LabStatus, out: TextIO, options: RenderOptions) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ovnguard.report.safe import visible_data

    # Names and paths are shown, never acted on: control characters written out, and rich
    # markup in them ("[link=...]") printed as text.
    st = visible_data(st)

    def e(v: object) -> str:
        return escape(str(v))

    console = Console(file=out)
    state = "[green]running[/green]" if st.running else "[red]not fully running[/red]"
    console.print(f"lab in {e(st.run_dir)} (started {e(st.created_at)}): {state}")
    console.print(f"NB {e(st.nb_remote)}   SB {e(st.sb_remote)}")
    for d in st.central:
        mark = "[green]up[/green]" if d.running else "[red]down[/red]"
        console.print(f"  {e(d.name):<16} pid {d.pid or '-':<8} {mark}  log {e(d.log)}")
    table = Table("chassis", "registered", "daemons", "encap ip", "management", "bridge mappings")
    for c in st.chassis:
        reg = "[green]yes[/green]" if c.registered else "[red]no[/red]"
        down = [e(d.name) for d in c.daemons if not d.running]
        daemons = (
            "[green]all up[/green]" if not down else "[red]down: " + ", ".join(down) + "[/red]"
        )
        table.add_row(
            e(c.name), reg, daemons, e(c.encap_ip), e(c.management or "-"),
            e(c.bridge_mappings or "-")
        )
    console.print(table)
    if not st.sb_reachable:
        console.print("[red]SB database not reachable: registration unknown[/red]")
