"""``wardwatch broker init``: a setup that Mosquitto runs as is, its secrets kept to their owners,
and clear refusals; the systemd drop-in runs the directory the README names."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import programs, repo
from tests.support.broker import CityBroker, Client

AGENT = "tan-an-pc07"


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory the ``mosquitto`` user can enter (pytest's are root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="wardwatch-broker-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.process
@pytest.mark.services
def test_the_setup_runs_as_written_by_the_mosquitto_user(open_dir: Path) -> None:
    """As root, as on the city's server: Mosquitto drops to ``mosquitto``, which owns state/
    and reads the server key through its group; the plugin saves an enrolment there."""
    if os.geteuid() != 0:
        pytest.fail("run as root, as `make test` does: this test is of the root-started broker")
    broker = CityBroker.made(open_dir, user="mosquitto")
    layout = broker.layout
    secret = [layout.state_file, layout.collector(1), layout.ca_key, layout.dynsec]
    assert {path.name: mode(path) for path in secret} == dict.fromkeys(
        (path.name for path in secret), 0o600
    )
    assert mode(layout.key) == 0o640 and mode(layout.ca) == 0o644
    owner = pwd.getpwnam("mosquitto").pw_uid
    assert layout.state.stat().st_uid == owner == layout.dynsec.stat().st_uid
    assert "user mosquitto" in layout.conf.read_text()
    with broker:
        password = broker.enrol(AGENT)[AGENT]
        client = Client(broker, AGENT, password)
        assert client.accepted
        client.close()
    assert f'"username": "{AGENT}"' in layout.dynsec.read_text().replace(":\t", ": ")


def init(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``wardwatch broker init --dir DIRECTORY --hostname localhost EXTRA``."""
    command = ["broker", "init", "--dir", str(directory), "--hostname", "localhost"]
    return subprocess.run(
        [*programs.WARDWATCH, *command, *extra, "--user", "root"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.process
def test_init_refuses_to_overwrite_and_half_a_certificate(tmp_path: Path) -> None:
    first = init(tmp_path / "b")
    assert first.returncode == 0, first.stderr
    assert f"mosquitto -c {tmp_path / 'b' / 'mosquitto.conf'}" in first.stdout
    again = init(tmp_path / "b")
    assert again.returncode == 2
    assert "holds a broker already" in again.stderr and "--force" in again.stderr
    half = init(tmp_path / "c", "--cert", str(tmp_path / "b" / "server.crt"))
    assert half.returncode == 2
    assert "--cert, --key and --ca go together" in half.stderr
    assert "Traceback" not in again.stderr + half.stderr


@pytest.mark.unit
def test_the_drop_in_runs_the_directory_the_readme_names() -> None:
    drop_in = (repo.DEPLOY / "systemd" / "mosquitto.service.d" / "wardwatch.conf").read_text()
    readme = (repo.DEPLOY / "mosquitto" / "README.md").read_text()
    assert "ExecStart=/usr/sbin/mosquitto -c /etc/wardwatch/broker/mosquitto.conf" in drop_in
    assert "wardwatch broker init --dir /etc/wardwatch/broker" in readme
