"""`ovnguard lab ...`: a real OVN on this machine (owned by the lab work)."""

import typer

app = typer.Typer(help="Run a real OVN (northd, NB/SB, N chassis) on this machine.", no_args_is_help=True)
