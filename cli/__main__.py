"""python -m cli: the same as the installed `macsec-rotation` command."""

import sys

from .main import main

sys.exit(main())
