"""Run the ovnguard CLI with `collect` registered, as a subprocess entry point.

The lead wires `collect` into `ovnguard.cli` (the verb module is ours, the app is not);
until then the tests register it here, on the same app, so `main()`'s one-line error
handling is exercised exactly as for `ovnguard ...`.
"""

from __future__ import annotations

from ovnguard.cli import app, main
from ovnguard.cli.collect import collect

if "collect" not in {c.name for c in app.registered_commands}:
    app.command("collect")(collect)

if __name__ == "__main__":
    main()
