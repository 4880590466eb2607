"""The acceptance suite: is this site's charging-profile strategy deployment-ready?

Six checks (:mod:`.checks`) run against real or simulated chargers through the control plane (the
:class:`~wattcap.server.profiles.ProfileService` production uses) and end in ``pass``, ``fail``, ``unsupported`` or
``inconclusive`` with their evidence. The decisions are pure (:mod:`.plan`: what to send and what to expect;
:mod:`.judge`: evidence to verdict); :mod:`.runner` is the thin async shell that drives the stations;
:mod:`.report_html`, :mod:`.report_json` and :mod:`.report_junit` write the results. See ``docs/acceptance.md``.

This package module stays import-light on purpose: the simulator's catalogue imports :mod:`.checks`.
"""

from wattcap.acceptance.checks import ALL_CHECKS, AcceptanceTest, CheckVerdict

__all__ = ["ALL_CHECKS", "AcceptanceTest", "CheckVerdict"]
