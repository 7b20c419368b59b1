"""Configuration: samples equal defaults, environment overrides, errors that name the fix."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import msgspec
import pytest

from tests.support import programs
from wardwatch.agent import config as agent_config
from wardwatch.collector import config as collector_config
from wardwatch.common.mqtt import Connection
from wardwatch.common.tomlconfig import ConfigError, load
from wardwatch.contract import wire


@pytest.mark.unit
def test_agent_sample_equals_defaults() -> None:
    assert agent_config.load(agent_config.SAMPLE) == agent_config.AgentConfig()


@pytest.mark.unit
def test_collector_sample_equals_defaults() -> None:
    assert collector_config.load(collector_config.SAMPLE) == collector_config.CollectorConfig()


@pytest.mark.unit
def test_sample_documents_every_key() -> None:
    # Every key of every section is spelled out in the sample, so it is a complete reference.
    for model, sample in (
        (agent_config.AgentConfig, agent_config.SAMPLE),
        (collector_config.CollectorConfig, collector_config.SAMPLE),
    ):
        text = sample.read_text(encoding="utf-8")
        written = tomllib.loads(text)
        for section in msgspec.structs.fields(model):
            if isinstance(section.type, type) and issubclass(section.type, msgspec.Struct):
                keys = {f.encode_name for f in msgspec.structs.fields(section.type)}
                assert set(written[section.encode_name]) == keys, (sample, section.encode_name)
                continue
            # A list or table of entries ([[target]], [thresholds.<kind>]) has no default
            # entry: the sample shows one, commented out, with every key.
            (entry,) = [
                a
                for a in section.type.__args__
                if isinstance(a, type) and issubclass(a, msgspec.Struct)
            ]
            for key in msgspec.structs.fields(entry):
                assert f"\n# {key.encode_name} = " in text, (sample, section.encode_name, key.name)


@pytest.mark.unit
def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('[agent]\nsite = "tan-an"\ninterval_s = 60\n')
    cfg = load(
        path,
        agent_config.AgentConfig,
        {"WARDWATCH_AGENT_INTERVAL_S": "15", "WARDWATCH_MQTT_URL": "mqtts://hub.example:8883"},
    )
    assert cfg.agent.interval_s == 15
    assert cfg.agent.site == "tan-an"
    assert cfg.mqtt.url == "mqtts://hub.example:8883"


@pytest.mark.unit
def test_defaults_derive_id_and_username_from_hostname() -> None:
    assert wire.hostname_id("TAN-AN PC#07") == "tan-an-pc-07"
    cfg = load(None, agent_config.AgentConfig, {"WARDWATCH_AGENT_ID": "ea-tu-vc1"})
    assert cfg.agent_id == cfg.mqtt_username == "ea-tu-vc1"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[agent]\ninterval_s = 0\n", "key agent.interval_s = 0: Expected `int` >= 1"),
        ('[agent]\ninterval_s = "often"\n', "key agent.interval_s = 'often': Expected `int`"),
        ("[agent]\nintervl_s = 5\n", "key agent: Object contains unknown field `intervl_s`"),
        ('[agent]\nsite = "a\\\\"\n', "not ending in a backslash"),
        (
            '[agent]\nsite = "two\\nlines"\n',
            "without control, invisible or bidirectional characters",
        ),
        ('[agent]\nid = "a/b"\n', "key agent.id = 'a/b'"),
        ('[mqtt]\nurl = "http://x"\n', "key mqtt.url = 'http://x'"),
        ('[mqtt]\nurl = "mqtt://hub.example:99999"\n', "key mqtt.url = 'mqtt://hub.example:99999'"),
        ("[agent\n", "not valid TOML"),
    ],
)
def test_bad_agent_config_names_file_key_and_value(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        agent_config.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


@pytest.mark.unit
def test_environment_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="from environment variable WARDWATCH_INFLUX_API"):
        load(None, collector_config.CollectorConfig, {"WARDWATCH_INFLUX_API": "v3"})


@pytest.mark.unit
def test_v2_needs_org_and_bucket() -> None:
    with pytest.raises(ConfigError, match='api = "v2" needs org'):
        load(None, collector_config.CollectorConfig, {"WARDWATCH_INFLUX_API": "v2"})


@pytest.mark.unit
def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        agent_config.load(Path("/nonexistent/agent.toml"))


@pytest.mark.process
@pytest.mark.parametrize("program", [programs.AGENT, programs.COLLECTOR])
def test_cli_check_exits_2_with_the_reason(tmp_path: Path, program: tuple[str, ...]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[mqtt]\nkeepalive_s = 1\n")
    result = subprocess.run(
        [*program, "--config", str(path), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{path}: key mqtt.keepalive_s = 1: Expected `int` >= 5" in result.stderr


@pytest.mark.process
@pytest.mark.parametrize(
    ("program", "sample"),
    [
        (programs.AGENT, agent_config.SAMPLE),
        (programs.COLLECTOR, collector_config.SAMPLE),
    ],
)
def test_cli_check_accepts_the_sample(program: tuple[str, ...], sample: Path) -> None:
    result = subprocess.run(
        [*program, "--config", str(sample), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


@pytest.mark.process
def test_collector_check_names_a_bad_policy_and_counts_register_problems(tmp_path: Path) -> None:
    policy = tmp_path / "city.toml"
    policy.write_text(
        'name = "city"\nsource = "s"\n[useful_life.desktop]\nyears = 0\nsource = "s"\n'
    )
    register = tmp_path / "assets.csv"
    register.write_text(
        "serial,hostname,purchase_date,device_class,site\n"
        "SN1,,2020-01-01,desktop,tan-an\nSN2,,someday,desktop,tan-an\n"
    )
    config = tmp_path / "collector.toml"

    def check(policy_setting: str) -> subprocess.CompletedProcess[str]:
        config.write_text(
            f'[lifecycle]\npolicy = "{policy_setting}"\nasset_register = "{register}"\n'
        )
        return subprocess.run(
            [
                *programs.COLLECTOR,
                "--config",
                str(config),
                "--check",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    bad = check(str(policy))
    assert bad.returncode == 2
    assert "[lifecycle] policy: " in bad.stderr and "useful_life.desktop.years = 0" in bad.stderr
    good = check("vn-tt141-2025")
    assert good.returncode == 0, good.stderr
    assert "OK, policy vn-tt141-2025, 1 asset register problem(s)" in good.stdout


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[mqtt]\npassword = 73915524\n", "key mqtt.password = ***: Expected `str`"),
        ('[mqtt]\nurl = "mqtt://tan-an:73915524@hub.example:1883"\n', "key mqtt.url = '"),
    ],
)
def test_errors_never_show_a_secret(tmp_path: Path, text: str, shown: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        agent_config.load(path)
    message = str(caught.value)
    assert shown in message
    assert "73915524" not in message


@pytest.mark.unit
def test_a_login_in_the_url_is_refused_with_a_pointer_to_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('[mqtt]\nurl = "mqtts://tan-an:secret@hub.example:8883"\n')
    with pytest.raises(ConfigError) as caught:
        agent_config.load(path)
    assert "key mqtt.url = 'mqtts://***@hub.example:8883'" in str(caught.value)
    assert "without a login (the username and password keys hold it)" in str(caught.value)


@pytest.mark.unit
def test_plaintext_to_another_machine_needs_allow_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('[mqtt]\nurl = "mqtt://hub.example:1883"\n')
    with pytest.raises(ConfigError, match=r"plaintext MQTT to another machine.*allow_plaintext"):
        agent_config.load(path)
    path.write_text('[mqtt]\nurl = "mqtt://hub.example:1883"\nallow_plaintext = true\n')
    assert agent_config.load(path).mqtt.allow_plaintext
    path.write_text('[mqtt]\nurl = "mqtt://127.0.0.1:1883"\n')
    assert not agent_config.load(path).mqtt.allow_plaintext  # this machine: no need


@pytest.mark.unit
def test_a_relative_ca_file_is_found_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "agent.toml"
    path.write_text('[mqtt]\nca_file = "ca.crt"\n')
    assert agent_config.load(path).mqtt.ca_file == str(tmp_path / "ca.crt")
    path.write_text('[mqtt]\nca_file = "missing.crt"\n')
    with pytest.raises(ConfigError, match=r"missing\.crt'. no such file"):
        agent_config.load(path)


@pytest.mark.unit
def test_a_plaintext_connection_to_another_machine_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Allowed by allow_plaintext, it still says so, once, when the connection is made."""
    with caplog.at_level("WARNING", logger="wardwatch.mqtt"):
        for _ in range(2):
            Connection(
                url="mqtt://hub.example:1883",
                client_id="tan-an-pc07",
                username="tan-an-pc07",
                password="secret-pw",
                ca_file="",
                keepalive_s=30,
                session_expiry_s=0,
            )
    (record,) = [r for r in caplog.records if "plaintext" in r.getMessage()]
    assert record.getMessage() == "broker mqtt://hub.example:1883: plaintext MQTT over the network"
