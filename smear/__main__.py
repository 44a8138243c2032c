from __future__ import annotations

import sys

from smear.cli import main

sys.exit(main())
