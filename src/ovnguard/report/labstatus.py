"""`ovnguard lab status` for a terminal: each daemon, each chassis."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ovnguard.lab.state import LabStatus
    from ovnguard.report.formats import RenderOptions


def write_text(st: LabStatus, out: TextIO, options: RenderOptions) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out)
    state = "[green]running[/green]" if st.running else "[red]not fully running[/red]"
    console.print(f"lab in {st.run_dir} (started {st.created_at}): {state}")
    console.print(f"NB {st.nb_remote}   SB {st.sb_remote}")
    for d in st.central:
        mark = "[green]up[/green]" if d.running else "[red]down[/red]"
        console.print(f"  {d.name:<16} pid {d.pid or '-':<8} {mark}  log {d.log}")
    table = Table("chassis", "registered", "daemons", "encap ip", "management", "bridge mappings")
    for c in st.chassis:
        reg = "[green]yes[/green]" if c.registered else "[red]no[/red]"
        down = [d.name for d in c.daemons if not d.running]
        daemons = (
            "[green]all up[/green]" if not down else "[red]down: " + ", ".join(down) + "[/red]"
        )
        table.add_row(
            c.name, reg, daemons, c.encap_ip, c.management or "-", c.bridge_mappings or "-"
        )
    console.print(table)
    if not st.sb_reachable:
        console.print("[red]SB database not reachable: registration unknown[/red]")
