"""The agent's config at its first install on Windows (``wardwatch.agent.install``): what the
MSI's properties become, on any OS (the registry and the ACL are the Wine tier's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wardwatch.agent import config, install
from wardwatch.common.compat import tomllib

pytestmark = pytest.mark.unit

secured: list[Path] = []


def _first(tmp: Path, values: dict[str, str], computer: str = "PHUONG-1-PC07") -> Path | None:
    secured.clear()
    return install.first_config(tmp / "wardwatch", values, computer, secured.append)


def test_defaults_take_the_computer_name_and_the_usual_role(tmp_path: Path) -> None:
    written = _first(tmp_path, {"MQTT_URL": "mqtts://broker.city.vn:8883", "SITE": "phuong-1"})
    assert written is not None and secured == [tmp_path / "wardwatch"]
    cfg = config.load(written)
    assert (cfg.agent.id, cfg.agent.site, cfg.agent.role, cfg.agent.device_class) == (
        "phuong-1-pc07",
        "phuong-1",
        "office-pc",
        "desktop",
    )
    assert (cfg.mqtt.url, cfg.mqtt_username, cfg.mqtt.ca_file) == (
        "mqtts://broker.city.vn:8883",
        "phuong-1-pc07",
        "",
    )


def test_every_property_lands_and_the_ca_is_copied_beside(tmp_path: Path) -> None:
    ca = tmp_path / "city-ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    values = {
        "MQTT_URL": "mqtts://10.0.0.5:8883",
        "AGENT_ID": "vc-room-1",
        "SITE": "tan-an",
        "ROLE": "vc-endpoint",
        "DEVICE_CLASS": "laptop",
        "MQTT_USERNAME": "vc-room-1",
        "MQTT_PASSWORD": 'p"a\\ss',
        "CA_FILE": str(ca),
    }
    written = _first(tmp_path, values)
    assert written is not None
    cfg = config.load(written)
    assert (cfg.agent.id, cfg.agent.role, cfg.agent.device_class) == (
        "vc-room-1",
        "vc-endpoint",
        "laptop",
    )
    assert cfg.mqtt.password == 'p"a\\ss'
    assert Path(cfg.mqtt.ca_file) == tmp_path / "wardwatch" / "ca.crt"  # resolved beside
    assert (tmp_path / "wardwatch" / "ca.crt").read_text() == ca.read_text()


def test_a_relative_ca_file_is_read_beside_the_msi(tmp_path: Path) -> None:
    """``wardwatch agents add`` writes the install line with CA_FILE="ca.crt": the one in the
    folder the MSI ran from (SOURCEDIR, which the MSI stores beside the properties)."""
    share = tmp_path / "share"
    share.mkdir()
    (share / "ca.crt").write_text("the city's CA\n")
    assert _first(tmp_path, {"CA_FILE": "ca.crt", install.FOLDER: f"{share}/"}) is not None
    assert (tmp_path / "wardwatch" / "ca.crt").read_text() == "the city's CA\n"


def test_an_existing_config_is_never_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "wardwatch"
    folder.mkdir()
    (folder / "agent.toml").write_text("# edited by the IT team\n")
    assert _first(tmp_path, {"SITE": "other"}) is None
    assert (folder / "agent.toml").read_text() == "# edited by the IT team\n"
    assert secured == []


def test_a_bad_property_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(install.InstallError) as caught:
        _first(tmp_path, {"SITE": "phuong-1\\", "MQTT_PASSWORD": "secret"})
    message = str(caught.value)
    assert "SITE=" in message and "agent.site" in message
    assert "secret" not in message and "MQTT_PASSWORD" not in message
    assert list((tmp_path / "wardwatch").iterdir()) == []


def test_a_missing_ca_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(install.InstallError, match=r"CA_FILE=.*nowhere\.crt: cannot copy"):
        _first(tmp_path, {"CA_FILE": str(tmp_path / "nowhere.crt")})
    assert not (tmp_path / "wardwatch" / "agent.toml").exists()


@given(st.text(max_size=40), st.text(max_size=40))
def test_any_password_and_username_survive_the_toml(password: str, username: str) -> None:
    """Whatever an IT team types (quotes, backslashes, newlines...) reads back the same, or the
    config refuses it by name; it never breaks the file."""
    login = install.login({"MQTT_PASSWORD": password, "MQTT_USERNAME": username}, "pc")
    text = login.text(install.HEADER)
    raw = tomllib.loads(text)
    assert raw["mqtt"]["password"] == password
    assert raw["mqtt"]["username"] == (username or "pc")
