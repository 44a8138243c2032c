"""`python -m classifier ...`"""

from __future__ import annotations

import sys

from classifier.cli import main

sys.exit(main())
