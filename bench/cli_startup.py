"""How long the whole `ovnguard check` process takes on the seed bundle, next to a bare
`python -c pass` of the same interpreter (goal: <= 10x).

    .venv/bin/python bench/cli_startup.py [RUNS] [--exe PATH/TO/ovnguard] [--no-bytecode-cache]
    (RUNS default 15)

Each command runs RUNS times; the minimum is reported (on a shared machine the minimum is
the run least disturbed by others), of the wall time and of the process's own CPU time
(user + system, from wait4: what the neighbours cannot inflate as much). The ratio is
taken on CPU time. `--exe PATH` measures another installation's `ovnguard` (e.g. before).

Every command runs once untimed first, with the bytecode cache on and kept in a temporary
directory (PYTHONPYCACHEPREFIX): the timed runs then load compiled modules, as an installed
package does (pip compiles at install). Without that, where PYTHONDONTWRITEBYTECODE is set
and an editable install's src/ holds no __pycache__, each run compiled all of ovnguard again
(~0.14 CPU-s of `check`), which a user does not pay; the prefix also keeps the bench from
writing into the tree it measures. The same directory is the runs' $XDG_CACHE_HOME, where
ovnguard remembers the tools' versions (change/tools.py): the untimed run fills it, as an
operator's first check does. `--no-bytecode-cache` measures the cold case instead (the
environment as it is).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = Path(__file__).resolve().parents[1] / "src" / "ovnguard" / "examples" / "seed"
EXE = str(Path(sys.executable).with_name("ovnguard"))
GOAL = 10.0


def measure(argv: list[str], runs: int, env: dict[str, str] | None) -> tuple[float, float]:
    """(min wall, min CPU) seconds over `runs` runs (after one untimed run when `env` is
    given: it fills the bytecode cache)."""
    if env is not None:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                       check=False)
    walls, cpus = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=env)
        _, _, ru = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t0)
        cpus.append(ru.ru_utime + ru.ru_stime)
    return min(walls), min(cpus)


def main(argv: list[str]) -> int:
    exe = EXE
    if "--exe" in argv:
        i = argv.index("--exe")
        exe = argv[i + 1]
        del argv[i : i + 2]
    cold = "--no-bytecode-cache" in argv
    if cold:
        argv.remove("--no-bytecode-cache")
    runs = int(argv[0]) if argv else 15
    with tempfile.TemporaryDirectory(prefix="ovnguard-pycache-") as cache:
        env = None
        if not cold:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env["PYTHONPYCACHEPREFIX"] = cache
            # the tool versions ovnguard remembers (change/tools.py): filled by the untimed
            # run, as by an operator's first check, and not the user's own
            env["XDG_CACHE_HOME"] = cache
        return _bench(exe, runs, env)


def _bench(exe: str, runs: int, env: dict[str, str] | None) -> int:
    python = str(Path(exe).with_name("python"))
    bundle, change = str(SEED / "bundle"), str(SEED / "change-verbatim.sh")
    rows = [
        ("python -c pass", [python, "-c", "pass"]),
        ("ovnguard --version", [exe, "--version"]),
        ("ovnguard --help", [exe, "--help"]),
        ("ovnguard check (seed, json)", [exe, "check", "-b", bundle, "--change", change, "-f",
                                         "json"]),
        ("ovnguard check (seed, text)", [exe, "check", "-b", bundle, "--change", change]),
    ]
    cache = "bytecode cached" if env is not None else "environment unchanged: --no-bytecode-cache"
    print(f"{exe}, {runs} runs each ({cache})")
    print(f"{'command':30} {'wall (s)':>9} {'CPU (s)':>8} {'CPU x pass':>11}")
    base = check = 0.0
    for name, cmd in rows:
        wall, cpu = measure(cmd, runs, env)
        base = base or cpu
        if name.startswith("ovnguard check (seed, json)"):
            check = cpu
        print(f"{name:30} {wall:9.3f} {cpu:8.3f} {cpu / base:10.1f}x")
    print(f"check / pass = {check / base:.1f}x CPU (goal <= {GOAL:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
