"""The TOML settings file: keys are the Settings fields; the environment overrides it, the command line both."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wattcap.cli import _register, app
from wattcap.core.model import OcppVersion
from wattcap.server.settings import Settings, SettingsError, UnknownStationPolicy
from wattcap.server.settings_file import file_values, load_settings


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wattcap.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_values_take_toml_types_and_the_environment_spellings(tmp_path: Path) -> None:
    path = toml(tmp_path, """
        port = 9100
        versions = ["ocpp1.6"]
        unknown_stations = "pending"
        accept_unknown_tokens = false
        rate_limit_per_s = 5
        ws_ping_interval_s = "none"
        database_url = "postgresql://wattcap@db/wattcap"
    """)
    settings = load_settings(path, environ={})
    assert (settings.port, settings.versions, settings.unknown_stations) == (
        9100, (OcppVersion.V16,), UnknownStationPolicy.PENDING
    )
    assert not settings.accept_unknown_tokens
    assert (settings.rate_limit_per_s, settings.ws_ping_interval_s) == (5.0, None)
    assert settings.database_url == "postgresql://wattcap@db/wattcap"


def test_environment_overrides_the_file_and_the_command_line_overrides_both(tmp_path: Path) -> None:
    path = toml(tmp_path, 'port = 9100\nhost = "0.0.0.0"\nheartbeat_interval_s = 60\n')
    environ = {"WATTCAP_PORT": "9200", "WATTCAP_HEARTBEAT_INTERVAL_S": "90"}
    settings = load_settings(path, environ=environ, port=9300, host=None)
    assert (settings.port, settings.host, settings.heartbeat_interval_s) == (9300, "0.0.0.0", 90)
    assert load_settings(None, environ={}) == Settings()


def test_a_tls_pair_may_come_from_two_layers(tmp_path: Path) -> None:
    path = toml(tmp_path, 'tls_certfile = "/etc/wattcap/cert.pem"\n')
    with pytest.raises(SettingsError, match="both"):
        load_settings(path, environ={})
    settings = load_settings(path, environ={"WATTCAP_TLS_KEYFILE": "/etc/wattcap/key.pem"})
    assert settings.tls and settings.tls_keyfile == "/etc/wattcap/key.pem"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("prot = 9000\n", "unknown setting(s) prot"),
        ("port = 'ninety'\n", "port='ninety' is not valid"),
        ("port = 9000.5\n", "port"),
        ("require_auth = 'maybe'\n", "require_auth"),
        ("versions = ['ocpp1.5']\n", "not an OCPP version"),
        ("port = [\n", "not valid TOML"),
        ("host = { a = 1 }\n", "host"),
    ],
)
def test_a_bad_file_is_an_error_that_names_the_setting(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(SettingsError) as error:
        file_values(toml(tmp_path, text))
    assert complaint in str(error.value)


def test_serve_refuses_a_bad_settings_file_before_starting(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(app, ["serve", "--config", str(toml(tmp_path, "prot = 9000\n"))])
    assert result.exit_code == 2 and "prot" in result.output
    missing = CliRunner().invoke(app, ["serve", "--config", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "cannot read" in " ".join(missing.output.replace("│", " ").split())


def test_serve_reports_an_unreachable_database_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    _register()
    monkeypatch.setattr("wattcap.cli.serve.configure_logging", lambda **_: None)  # leave the test's logging alone
    url = "postgresql://wattcap:s3cret@127.0.0.1:1/wattcap"
    result = CliRunner().invoke(app, ["serve", "--port", "0", "--database-url", url])
    assert result.exit_code == 1
    assert "cannot open the database" in result.output and "s3cret" not in result.output
