"""The command lines of wardwatch's programs, run from this checkout's interpreter.

Tests start them as ``python -m`` so the process under test is the code of this checkout (the
editable install), whatever ``wardwatch-*`` scripts happen to be on PATH.
"""

from __future__ import annotations

import sys
from typing import Final

AGENT: Final = (sys.executable, "-m", "wardwatch.agent.main")
"""``wardwatch-agent``."""
COLLECTOR: Final = (sys.executable, "-m", "wardwatch.collector.ingest.main")
"""``wardwatch-collector``."""
WARDWATCH: Final = (sys.executable, "-m", "wardwatch.collector.cli.main")
"""``wardwatch``, the operator's command line."""
LOCALRUN: Final = (sys.executable, "-m", "wardwatch.collector.devstack.localrun")
"""What ``make run`` starts."""
