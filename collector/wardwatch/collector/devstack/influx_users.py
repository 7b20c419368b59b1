"""InfluxDB 1.x users for wardwatch: the InfluxQL an admin runs to create them.

One place for the statements, so the ones the README and ``collector.sample.toml`` show are the
ones the tests run (``tests/test_influx_auth.py`` checks both files hold them verbatim):
the collector's user may read and write the wardwatch database, the reader (``wardwatch``
status commands, Grafana) may only read it, and neither is an admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from wardwatch.collector.influx.query import quote_ident, quote_string

Privilege = Literal["READ", "WRITE", "ALL"]
"""What a user may do on one database; ``ALL`` is READ and WRITE there, not admin."""

ADMIN_USER: Final = "admin"
COLLECTOR_USER: Final = "wardwatch_collector"
READER_USER: Final = "wardwatch_reader"
COLLECTOR_PRIVILEGE: Final[Privilege] = "ALL"
"""WRITE is not enough: after a restart the collector reads back each agent's last status, so
that a stale last will cannot mark a running agent offline (``ingest.admission``)."""
READER_PRIVILEGE: Final[Privilege] = "READ"


@dataclass(frozen=True)
class Login:
    """An InfluxDB user name and its password."""

    user: str
    password: str

    def __repr__(self) -> str:
        # Keeps the password out of pytest's assertion rewrites and any log of the object.
        return f"Login({self.user!r}, password=<hidden>)"


def create_admin(admin: Login) -> str:
    """``CREATE USER ... WITH ALL PRIVILEGES``: InfluxDB accepts the first one without a login."""
    return f"{create_user(admin)} WITH ALL PRIVILEGES"


def create_user(login: Login) -> str:
    """``CREATE USER "<user>" WITH PASSWORD '<password>'``, quoted for any name and password."""
    return f"CREATE USER {quote_ident(login.user)} WITH PASSWORD {quote_string(login.password)}"


def grant(privilege: Privilege, database: str, user: str) -> str:
    """``GRANT <privilege> ON "<database>" TO "<user>"``."""
    return f"GRANT {privilege} ON {quote_ident(database)} TO {quote_ident(user)}"


def user_with_privilege(login: Login, privilege: Privilege, database: str) -> list[str]:
    """The statements that create ``login`` and give it ``privilege`` on ``database``."""
    return [create_user(login), grant(privilege, database, login.user)]


def wardwatch_users(database: str, collector: Login, reader: Login) -> list[str]:
    """What an admin runs once for an installation: the database, the collector's user and
    the read-only user, in this order (documented in README.md, "InfluxDB users")."""
    return [
        f"CREATE DATABASE {quote_ident(database)}",
        *user_with_privilege(collector, COLLECTOR_PRIVILEGE, database),
        *user_with_privilege(reader, READER_PRIVILEGE, database),
    ]
