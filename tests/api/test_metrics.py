"""``/metrics``: behind a token, Prometheus text, counting station messages by type, profile writes, verdicts,
connections, stream clients and API requests, with the site cap's allocation histogram ready to observe."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from .site import API, V201, ApiSite, grant, received, station, tx_default


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


async def test_metrics_need_a_token(site: ApiSite):
    async with site.client() as http:
        answer = await http.get("/metrics")
    assert answer.status_code == 401


async def test_metrics_count_what_the_control_plane_does(site: ApiSite):
    token = await site.token("ops", grant(stations=["*"], bands=["default"]))
    site.plane.metrics.allocation_latency.observe(0.003)  # what the site-cap shell does around an allocation
    async with site.simulated([station("SIM-MX", V201)]), site.stream(f"?token={token}") as websocket:
        await received(websocket)
        async with site.client(token) as http:
            created = await http.post(f"{API}/stations/SIM-MX/profiles",
                                      json={"evse_id": 1, "band": "default", "profile": tx_default(10.0)})
            assert created.status_code == 201
            answer = await http.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    found = samples(answer.text)
    assert found[("wattcap_stations_connected", ())] == 1.0
    assert found[("wattcap_stream_clients", ())] == 1.0
    assert found[("wattcap_station_events_total", (("type", "StationBooted"),))] == 1.0
    assert found[("wattcap_station_events_total", (("type", "MeterValuesReceived"),))] >= 1.0
    assert found[("wattcap_profile_writes_total", (("action", "set"), ("verdict", "applied")))] == 1.0
    assert found[("wattcap_verdicts_total", (("verdict", "applied"),))] == 1.0
    assert found[("wattcap_sitecap_allocation_seconds_count", ())] == 1.0
    assert found[("wattcap_sitecap_allocation_seconds_bucket", (("le", "0.005"),))] == 1.0
    assert found[("wattcap_stream_events_total", (("type", "limit"),))] == 1.0
    route = f"{API}/stations/{{station_id}}/profiles"
    assert found[("wattcap_api_requests_total", (("method", "POST"), ("route", route), ("status", "201")))] == 1.0
