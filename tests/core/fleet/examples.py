"""The issue's three example rules as one rules document, shared by the loader's and the matcher's specs."""

ISSUE_RULES = """\
timezone: Europe/Berlin
vehicles:
  - id: van-07
    type: delivery-van
    battery_kwh: 75
    max_ac_current_a: 32
    id_tokens: [04A1B2C3]
rules:
  - name: vans-by-six
    match: {vehicle_type: delivery-van}
    goal: {soc_percent: 80, by: "06:00", strategy: cheapest}
    priority: high
  - name: visitors-office-hours
    match: {id_token_group: visitors, time_of_day: {from: "08:00", to: "18:00"}, days: [mon, tue, wed, thu, fri]}
    max_power_kw: 11
  - name: premium
    match: {id_token_group: premium}
    max_power_kw: 22
    weight: 2
"""
