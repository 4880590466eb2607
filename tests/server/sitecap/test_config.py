"""The site file: a tree that makes sense, or an error naming the site, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattcap.core.sitecap.model import GridPhase
from wattcap.server.sitecap.config import SiteConfigError, load_sites, parse_sites

GOOD = """
[[sites]]
id = "depot"
fallback = "equal"
lease_s = 120

[[sites.nodes]]
id = "grid"
max_current_a = 100
safe_current_a = 80

[[sites.nodes]]
id = "feeder-a"
parent = "grid"
max_current_a = 63

[[sites.evses]]
station = "CP1"
evse = 1
node = "feeder-a"
wiring = "L2L3L1"
max_current_a = 32
"""


def site(**overrides):
    raw = {
        "id": "s", "nodes": [{"id": "grid", "max_current_a": 100}],
        "evses": [{"station": "CP1", "evse": 1, "node": "grid"}],
    }
    raw.update(overrides)
    return {"sites": [raw]}


def test_a_toml_site_file_reads_into_the_tree(tmp_path: Path):
    path = tmp_path / "site.toml"
    path.write_text(GOOD)
    (depot,) = load_sites(path)
    assert depot.id == "depot" and depot.lease_s == 120 and depot.root().id == "grid"
    (evse,) = depot.topology.evses
    assert evse.key == ("CP1", 1) and evse.wiring == (GridPhase.L2, GridPhase.L3, GridPhase.L1)
    assert depot.station_ids == {"CP1"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "[[sites]]"),
        (site(nodes=[]), "at least one node"),
        (site(nodes=[{"id": "a"}, {"id": "b"}]), "exactly one node"),
        (site(nodes=[{"id": "a"}, {"id": "b", "parent": "x"}]), "unknown parent"),
        (site(nodes=[{"id": "a"}, {"id": "b", "parent": "c"}, {"id": "c", "parent": "b"}]), "cycle"),
        (site(nodes=[{"id": "grid", "max_current_a": -1}]), "max_current_a"),
        (site(nodes=[{"id": "grid", "fuse": 3}]), "unknown field 'fuse'"),
        (site(evses=[{"station": "CP1", "evse": 1, "node": "nowhere"}]), "unknown node"),
        (site(evses=[{"station": "CP1", "evse": 0, "node": "grid"}]), "evse must be >= 1"),
        (site(evses=[{"station": "CP1", "evse": 1, "node": "grid", "wiring": "L1L1L2"}]), "wiring"),
        (site(evses=[{"station": "CP1", "evse": 1, "node": "grid", "phases": 2}]), "phases"),
        (site(evses=[{"station": "CP1", "evse": 1}]), "'node'"),
        (site(evses=[{"station": "CP1", "evse": 1, "node": "grid"}] * 2), "listed twice"),
        (site(fallback="random"), "fallback must be"),
        (site(fallback="fixed"), "fallback_current_a"),
        (site(lease_s=5), "lease_s"),
        (site(fallback_load_a={"grid": [1, 2]}), "fallback_load_a"),
    ],
)
def test_mistakes_are_named(document, message):
    with pytest.raises(SiteConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_sites(document)


def test_a_station_belongs_to_one_site_only():
    one = site()["sites"][0]
    two = dict(one, id="other")
    with pytest.raises(SiteConfigError, match="both site"):
        parse_sites({"sites": [one, two]})


def test_an_unreadable_file_is_a_site_config_error(tmp_path: Path):
    with pytest.raises(SiteConfigError, match="cannot read"):
        load_sites(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sites]\n")
    with pytest.raises(SiteConfigError, match=r"bad\.toml"):
        load_sites(bad)


@pytest.mark.parametrize("lease_s", [30, 120, 300, 900])
def test_every_accepted_lease_gives_a_valid_coordinator_policy(lease_s):
    from wattcap.server.sitecap.controller import SiteCapController

    (definition,) = parse_sites(site(lease_s=lease_s))
    controller = object.__new__(SiteCapController)
    controller.site = definition
    policy = controller._policy(None)
    assert policy.lease_s == lease_s and policy.renew_before_s == lease_s // 3


def test_the_example_site_file_reads():
    (depot,) = load_sites(Path(__file__).resolve().parents[3] / "examples" / "site.toml")
    assert depot.id == "depot" and len(depot.topology.evses) == 4 and depot.fallback == "minimum"
