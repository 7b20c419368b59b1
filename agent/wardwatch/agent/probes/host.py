"""The ``host`` probe: hostname, OS identity, boot time, uptime, CPU, memory and disk use."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timezone

import psutil

from wardwatch.agent.native import OS
from wardwatch.contract.wire import Fact, HostFacts

_MB = 1024 * 1024
_GB = 1024 * _MB


class HostProbe:
    """Reads the machine through psutil; the OS identity is read once, it does not change."""

    name = "host"

    def __init__(self) -> None:
        self._os = OS.os_identity()
        self._disk = OS.system_disk()
        # The first cpu_percent() call only starts the measurement window; later calls report
        # the use since the previous one, i.e. over the whole reporting interval. (The first
        # report, and so --once, covers only the moments since start: a busy-looking spike
        # there is not worth a blocking sample on a slow ward PC.)
        psutil.cpu_percent(interval=None)

    def collect(self) -> list[Fact]:
        """One reading of the host's state."""
        uptime = OS.uptime_s()
        # Boot time on this machine's own wall clock, consistent with its other timestamps
        # (the collector corrects them together when that clock is off).
        boot = time.time() - uptime
        # No swap figure: psutil.swap_memory() raises on Windows 7 (psutil #2681). Were one
        # wanted, it belongs behind native.OS, read by osinfo_linux only.
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(self._disk)
        return [
            HostFacts(
                hostname=socket.gethostname(),
                os_name=self._os.name,
                os_version=self._os.version,
                os_build=self._os.build,
                boot_time=datetime.fromtimestamp(round(boot), timezone.utc),
                uptime_s=round(uptime, 3),
                cpu_pct=psutil.cpu_percent(interval=None),
                cpu_count=psutil.cpu_count() or 1,
                mem_total_mb=round(memory.total / _MB, 1),
                mem_used_pct=memory.percent,
                disk_total_gb=round(disk.total / _GB, 2),
                disk_used_pct=disk.percent,
            )
        ]
