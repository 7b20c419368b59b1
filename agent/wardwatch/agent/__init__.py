"""wardwatch agent: measures a ward PC or VC machine and reports it over MQTT."""

# The one place the version is written; pyproject.toml reads it from here. A literal rather
# than importlib.metadata, which would cost the agent ~0.8 MiB of resident memory.
__version__ = "0.1.0"
