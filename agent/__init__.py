"""wardwatch agent: measures a ward PC or VC machine and reports it over MQTT."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wardwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
