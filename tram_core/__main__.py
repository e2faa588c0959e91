"""Entry point for ``python -m tram_core``."""

import sys

from tram_core.cli import main

sys.exit(main())
