"""The cluster settings: off by default, from the environment like every other setting, checked on load."""

from __future__ import annotations

import pytest

from wattcap.server.settings import Settings, SettingsError


def test_a_single_node_by_default():
    settings = Settings()
    assert settings.nats_url is None and settings.node_id is None and settings.nats_prefix == "wattcap"


def test_cluster_settings_from_the_environment():
    settings = Settings.from_env({
        "WATTCAP_NATS_URL": "nats://nats:4222", "WATTCAP_NODE_ID": "node-a", "WATTCAP_NATS_PREFIX": "depot_1",
        "WATTCAP_CLUSTER_LEASE_S": "4.5",
    })
    assert (settings.nats_url, settings.node_id, settings.nats_prefix, settings.cluster_lease_s) == (
        "nats://nats:4222", "node-a", "depot_1", 4.5)


@pytest.mark.parametrize("changes", [
    {"WATTCAP_NODE_ID": "node.a"}, {"WATTCAP_NATS_PREFIX": "a>b"}, {"WATTCAP_NATS_PREFIX": ""},
    {"WATTCAP_CLUSTER_LEASE_S": "0.5"},
])
def test_names_that_cannot_be_subject_tokens_and_short_leases_are_refused(changes):
    with pytest.raises(SettingsError):
        Settings.from_env(changes)
