"""A child process run in the foreground, logged to a file, waited on until it answers and stopped
by PID: how the development stack (``services``) runs Mosquitto, InfluxDB and wardwatch's own
programs for the tests and ``make run``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

LOG_TAIL_LINES = 40


class ServiceError(RuntimeError):
    """A managed process could not be started (the message holds the tail of its log)."""


class BinaryMissingError(ServiceError):
    """The executable of a managed process does not exist; the message says how to install it."""


def _find_executable(program: str) -> str | None:
    """Resolve ``program`` like the shell would, accepting explicit paths as they are."""
    if os.sep in program:
        return program if os.access(program, os.X_OK) and Path(program).is_file() else None
    return shutil.which(program)


class ManagedProcess:
    """A child process run in the foreground from a working directory, stopped by PID.

    Its stdout and stderr are appended to ``<workdir>/<name>.log``. ``start()`` returns once
    the process answers (see ``_answers``) and raises ``ServiceError`` with the tail of the log
    if it exits or does not answer in time. ``stop()`` sends SIGTERM, then SIGKILL after
    ``stop_timeout_s``. Usable as a context manager.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        workdir: Path,
        *,
        install_hint: str,
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = 30.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.workdir = workdir.resolve()
        self.install_hint = install_hint
        self.env = dict(env) if env is not None else None
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """The file the process's stdout and stderr are appended to."""
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        """PID of the process last started (None before the first start)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the process last started is still alive."""
        return self._proc is not None and self._proc.poll() is None

    def poll(self) -> int | None:
        """Exit code of the process if it has exited, else None (also None if never started)."""
        return self._proc.poll() if self._proc is not None else None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the log file ("" if there is none yet)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _prepare(self) -> None:
        """Hook run before each start: write config files, check ports."""

    def _answers(self) -> bool:
        """Hook: whether the freshly started process is ready. By default, at once."""
        return True

    def _error(self, what: str) -> ServiceError:
        """A ServiceError about this process with the tail of its log attached."""
        return ServiceError(
            f"{self.name}: {what}\n--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def start(self) -> None:
        """Start the process and wait until it answers; raise ServiceError if it does not."""
        if self.running:
            raise ServiceError(f"{self.name}: already running as pid {self.pid}")
        if _find_executable(self.argv[0]) is None:
            raise BinaryMissingError(
                f"{self.name}: executable {self.argv[0]!r} not found; "
                f"install it with: {self.install_hint}"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._prepare()
        with self.log_path.open("ab") as log:
            log.write(f"--- wardwatch: starting {' '.join(self.argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A session of its own: a Ctrl-C in the terminal reaches only our parent, which
                # then stops its children one by one in a chosen order.
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            code = self._proc.poll()
            if code is not None:
                raise self._error(f"exited with code {code} while starting")
            # Checking liveness again after the answer: something else may hold the port.
            if self._answers() and self._proc.poll() is None:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise self._error(f"did not answer within {self.start_timeout_s:g} s")
            time.sleep(0.05)

    def stop(self) -> int | None:
        """Stop by PID: SIGTERM, SIGKILL after ``stop_timeout_s``. Returns the exit code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self._proc.returncode

    def kill(self) -> int | None:
        """Stop by PID with SIGKILL at once, as a crash or power cut would. Returns the code."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        return self._proc.returncode

    def restart(self) -> None:
        """Stop (if running) and start again with the same configuration and data."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
