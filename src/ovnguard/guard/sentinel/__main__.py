"""`python -m ovnguard.guard.sentinel [--detach] SENTINEL_DIR`: the detached process."""

import sys

from ovnguard.guard.sentinel.daemon import main

sys.exit(main(sys.argv[1:]))
