"""``python -m wardwatch.agent.service_windows``: the agent as the Windows service.

The MSI registers this command as the service (``deploy/windows``). Windows' service manager
starts it; ``StartServiceCtrlDispatcherW`` hands this thread to the manager, which calls
``_service_main`` on another: it reports RUNNING and runs the agent (``main.serve``) until a
stop or a shutdown control sets the stop event, then the agent says ``offline``, closes its
outbox, and the service reports STOPPED. advapi32 through ctypes: no pywin32 to ship. The
config and a size-bounded log are in ``%ProgramData%\\wardwatch`` (``native.OS``).
Windows only: this module is imported on Windows alone.
"""

from __future__ import annotations

import ctypes
import logging
import logging.handlers
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from wardwatch.agent import config, install, install_windows, main
from wardwatch.common.tomlconfig import ConfigError

NAME = "wardwatch-agent"
COMMAND = "-B -m wardwatch.agent.service_windows"
"""The interpreter's arguments in the service's command line (deploy/windows/build_msi.py
registers the same; -B: no __pycache__ under Program Files)."""
LOG_BYTES = 1_000_000
LOG_FILES = 3
"""The log's bound: this many files of LOG_BYTES, the oldest dropped."""

_OWN_PROCESS = 0x10
_STOPPED, _RUNNING, _STOP_PENDING = 1, 4, 3
_ACCEPT_STOP_AND_SHUTDOWN = 0x1 | 0x4
_CONTROL_STOP, _CONTROL_INTERROGATE, _CONTROL_SHUTDOWN = 1, 4, 5
_NO_ERROR, _NOT_IMPLEMENTED = 0, 120
_SC_MANAGER_CONNECT, _NO_CHANGE = 0x1, 0xFFFFFFFF
_SERVICE_CHANGE_CONFIG_AND_START = 0x2 | 0x10  # restart actions need the start right too
_FAILURE_ACTIONS, _FAILURE_ACTIONS_FLAG = 2, 4
_RESTART = 1
RESTART_AFTER_S = (10, 60, 300)
"""Restarts after a failure: the first after 10 s, the second after a minute, then every five
minutes; the count starts again after a day without failure."""
_EXIT_SPECIFIC = 1066  # ERROR_SERVICE_SPECIFIC_ERROR: the agent's own exit code follows

log = logging.getLogger("wardwatch.agent.service")


# Windows' types by their sizes (ctypes.wintypes does not import on Linux under 3.8, and the
# agent's modules are all imported there by the tests); WINFUNCTYPE (stdcall) exists on Windows
# alone, CFUNCTYPE stands in elsewhere, where nothing calls these.
_DWORD, _POINTER, _WSTR = ctypes.c_uint32, ctypes.c_void_p, ctypes.c_wchar_p
_CALLBACK = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)


class _Status(ctypes.Structure):
    _fields_ = [
        ("dwServiceType", _DWORD),
        ("dwCurrentState", _DWORD),
        ("dwControlsAccepted", _DWORD),
        ("dwWin32ExitCode", _DWORD),
        ("dwServiceSpecificExitCode", _DWORD),
        ("dwCheckPoint", _DWORD),
        ("dwWaitHint", _DWORD),
    ]


_HANDLER = _CALLBACK(_DWORD, _DWORD, _DWORD, _POINTER, _POINTER)
_MAIN = _CALLBACK(None, _DWORD, ctypes.POINTER(_WSTR))


class _Action(ctypes.Structure):
    _fields_ = [("Type", _DWORD), ("Delay", _DWORD)]


class _FailureActions(ctypes.Structure):
    _fields_ = [
        ("dwResetPeriod", _DWORD),
        ("lpRebootMsg", _WSTR),
        ("lpCommand", _WSTR),
        ("cActions", _DWORD),
        ("lpsaActions", ctypes.POINTER(_Action)),
    ]


class _TableEntry(ctypes.Structure):
    _fields_ = [("lpServiceName", _WSTR), ("lpServiceProc", _MAIN)]


def _advapi32() -> Any:
    """advapi32 with the signatures used here: a handle is pointer-sized, which ctypes'
    default (a C int) would cut to 32 bits on 64-bit Windows."""
    advapi = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    handle, text = _POINTER, _WSTR
    signatures = {
        "RegisterServiceCtrlHandlerExW": (handle, [text, _HANDLER, handle]),
        "SetServiceStatus": (ctypes.c_int, [handle, ctypes.POINTER(_Status)]),
        "StartServiceCtrlDispatcherW": (ctypes.c_int, [ctypes.c_void_p]),
        "OpenSCManagerW": (handle, [text, text, _DWORD]),
        "OpenServiceW": (handle, [handle, text, _DWORD]),
        "ChangeServiceConfigW": (
            ctypes.c_int,
            [handle, _DWORD, _DWORD, _DWORD, text, text, handle, text, text, text, text],
        ),
        "ChangeServiceConfig2W": (ctypes.c_int, [handle, _DWORD, ctypes.c_void_p]),
        "CloseServiceHandle": (ctypes.c_int, [handle]),
    }
    for name, (result, arguments) in signatures.items():
        function = getattr(advapi, name)
        function.restype, function.argtypes = result, arguments
    return advapi


class Service:
    """One run of the service: its status handle, its stop event, its exit code."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.stop = threading.Event()
        self.code = 0
        self._advapi = _advapi32()
        self._handle: Any = None
        # Kept as attributes: the manager calls them after this frame has returned.
        self._handler = _HANDLER(self._control)
        self._main = _MAIN(self._service_main)

    def _report(self, state: int, wait_ms: int = 0) -> None:
        status = _Status(_OWN_PROCESS, state, 0 if state != _RUNNING else _ACCEPT_STOP_AND_SHUTDOWN)
        if state == _STOPPED and self.code:
            status.dwWin32ExitCode, status.dwServiceSpecificExitCode = _EXIT_SPECIFIC, self.code
        status.dwWaitHint = wait_ms
        self._advapi.SetServiceStatus(self._handle, ctypes.byref(status))

    def _control(self, control: int, event: int, data: Any, context: Any) -> int:
        if control in (_CONTROL_STOP, _CONTROL_SHUTDOWN):
            log.info("stop asked by the service manager")
            self._report(_STOP_PENDING, wait_ms=30_000)
            self.stop.set()
            return _NO_ERROR
        return _NO_ERROR if control == _CONTROL_INTERROGATE else _NOT_IMPLEMENTED

    def _service_main(self, argc: int, argv: Any) -> None:
        self._handle = self._advapi.RegisterServiceCtrlHandlerExW(NAME, self._handler, None)
        self._report(_RUNNING)
        self._configure_service()
        try:
            self._first_config()
            cfg = config.load(self.config_path if self.config_path.is_file() else None)
            self.code = main.serve(cfg, self.stop)
        except (ConfigError, install.InstallError) as exc:
            log.error("%s", exc)
            self.code = 2
        except Exception:  # the manager must hear STOPPED whatever happened
            log.exception("the agent failed")
            self.code = 1
        self._report(_STOPPED)

    def _first_config(self) -> None:
        """At the first start after an install: the config from the installer's properties."""
        written = install.first_config(
            self.config_path.parent,
            install_windows.read_properties(),
            socket.gethostname(),
            install_windows.secure,
        )
        if written:
            log.info("wrote %s from the installer's properties", written)
        install_windows.forget_password()  # also when an upgrade passed one again

    def _configure_service(self) -> None:
        """What Windows Installer cannot say through wixl, set at each start: the quoted path
        and the restarts after a failure."""
        manager = self._advapi.OpenSCManagerW(None, None, _SC_MANAGER_CONNECT)
        access = _SERVICE_CHANGE_CONFIG_AND_START
        service = self._advapi.OpenServiceW(manager, NAME, access) if manager else 0
        if service:
            self._quote_own_path(service)
            self._restart_on_failure(service)
            self._advapi.CloseServiceHandle(service)
        else:
            log.warning("cannot configure the service (error %d)", ctypes.get_last_error())  # type: ignore[attr-defined,unused-ignore]
        if manager:
            self._advapi.CloseServiceHandle(manager)

    def _quote_own_path(self, service: Any) -> None:
        """Make the service's command line start with its quoted interpreter path.

        An unquoted path with a space (``C:\\Program Files\\...``) lets Windows try
        ``C:\\Program.exe`` first, a known way to run another program as SYSTEM. Windows
        Installer quotes it; Wine's does not, so the service checks at each start."""
        quoted = f'"{sys.executable}" {COMMAND}'
        unchanged = [None] * 6
        if not self._advapi.ChangeServiceConfigW(
            service, _NO_CHANGE, _NO_CHANGE, _NO_CHANGE, quoted, *unchanged
        ):
            error = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
            log.warning("cannot quote the service's path (error %d)", error)

    def _restart_on_failure(self, service: Any) -> None:
        """Restart actions, also when the agent stops itself with an error (not only when the
        process dies): a ward PC has nobody to start it again."""
        actions = (_Action * len(RESTART_AFTER_S))(
            *(_Action(_RESTART, s * 1000) for s in RESTART_AFTER_S)
        )
        failure = _FailureActions(86_400, None, None, len(RESTART_AFTER_S), actions)
        flag = ctypes.c_int(1)  # SERVICE_FAILURE_ACTIONS_FLAG.fFailureActionsOnNonCrashFailures
        for level, info in ((_FAILURE_ACTIONS, failure), (_FAILURE_ACTIONS_FLAG, flag)):
            if not self._advapi.ChangeServiceConfig2W(service, level, ctypes.byref(info)):
                error = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
                log.warning(
                    "cannot set the restarts after a failure (level %d, error %d)", level, error
                )

    def dispatch(self) -> bool:
        """Hand this thread to the service manager until the service stops; False when this
        process was not started by the manager (run from a console)."""
        table = (_TableEntry * 2)(_TableEntry(NAME, self._main), _TableEntry(None, _MAIN()))
        return bool(self._advapi.StartServiceCtrlDispatcherW(ctypes.cast(table, ctypes.c_void_p)))


def _log_to(directory: Path) -> None:
    """The agent's log, as a service has no console: bounded files in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        directory / "agent.log", maxBytes=LOG_BYTES, backupCount=LOG_FILES - 1, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def run(argv: list[str] | None = None) -> int:
    """Entry point: serve as ``wardwatch-agent`` with ``%ProgramData%\\wardwatch\\agent.toml``."""
    from wardwatch.agent import native

    state = native.OS.state_dir()
    _log_to(state)
    service = Service(state / "agent.toml")
    if not service.dispatch():
        print(f"{NAME}: run by the Windows service manager only (sc start {NAME})", file=sys.stderr)
        return 1
    # Stopped: the agent said offline and closed its outbox. The process must end now, not after
    # the interpreter's finalization: the installer deletes the program files as soon as it
    # reads STOPPED, and a DLL still mapped by this process cannot be deleted.
    logging.shutdown()
    os._exit(service.code)


if __name__ == "__main__":
    sys.exit(run())
