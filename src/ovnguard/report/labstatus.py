"""`ovnguard lab status` for a terminal: each daemon, each chassis."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ovnguard.i18n import _

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

    def green(text: str) -> str:
        return "[green]" + e(text) + "[/green]"

    def red(text: str) -> str:
        return "[red]" + e(text) + "[/red]"

    console = Console(file=out)
    if st.running:
        state = "[green]" + e(_("running")) + "[/green]"
    else:
        state = "[red]" + e(_("not fully running")) + "[/red]"
    console.print(_("lab in {run_dir} (started {created_at}): {state}").format(
        run_dir=e(st.run_dir), created_at=e(st.created_at), state=state))
    console.print(f"NB {e(st.nb_remote)}   SB {e(st.sb_remote)}")
    for d in st.central:
        mark = green(_("up")) if d.running else red(_("down"))
        # pid and log are the words the daemons' own files use: kept
        console.print(f"  {e(d.name):<16} pid {d.pid or '-':<8} {mark}  log {e(d.log)}")
    table = Table(_("chassis"), _("registered"), _("daemons"), _("encap ip"), _("management"),
                  _("bridge mappings"))
    for c in st.chassis:
        reg = green(_("yes")) if c.registered else red(_("no"))
        down = [e(d.name) for d in c.daemons if not d.running]
        if not down:
            daemons = "[green]" + e(_("all up")) + "[/green]"
        else:
            daemons = "[red]" + e(_("down: {daemons}").format(daemons=", ".join(down))) + "[/red]"
        table.add_row(
            e(c.name), reg, daemons, e(c.encap_ip), e(c.management or "-"),
            e(c.bridge_mappings or "-")
        )
    console.print(table)
    if not st.sb_reachable:
        console.print("[red]" + e(_("SB database not reachable: registration unknown")) + "[/red]")
