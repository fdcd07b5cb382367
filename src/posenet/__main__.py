"""``python -m posenet``: the same as the ``posenet`` command."""

import sys

from .cli import main

sys.exit(main())
