"""Fleet rules and the departure-aware charging planner (pure).

* :mod:`.model` — what a rule decides for a session (:class:`SessionPolicy`, :class:`ChargingGoal`) and the facts
  it matches on (:class:`SessionFacts`);
* :mod:`.loader` / :mod:`.rules` — a rules document (YAML or JSON) with line-exact errors, and :func:`evaluate`:
  the first rule by precedence, with a trace that is also the dry run;
* :mod:`.planner` — one joint programme (HiGHS) per site over 15-minute slots: every goal by its departure within
  the site's capacity, at the lowest cost or with the most solar; infeasible goals come back with their shortfall;
* :mod:`.inputs` — site capacity, price and solar series, and a session's demand to the site-cap allocator;
* :mod:`.profiles` / :mod:`.planner_profile` — a plan, template or ceiling as a TxProfile;
* :mod:`.ev_schedule` — an ISO 15118 EV's own schedule checked against its limits (K15.FR.11/12).

Everything here is synchronous and free of I/O; the shell (``wattcap.server.fleet``) feeds it.
"""

from wattcap.core.fleet.document import RuleFileError, RuleIssue
from wattcap.core.fleet.loader import load_rules, rules_from_data
from wattcap.core.fleet.model import (
    PRIORITY_CLASSES,
    ChargingGoal,
    ProfileTemplate,
    SessionFacts,
    SessionPolicy,
    Strategy,
    TemplatePeriod,
    Vehicle,
)
from wattcap.core.fleet.planner import plan_sessions
from wattcap.core.fleet.planner_model import PlanningError, PlanningWindow, PlanSlot, SessionGoal, SessionPlan, SitePlan
from wattcap.core.fleet.rules import Evaluation, Rule, RuleSet, evaluate, next_reevaluation

__all__ = [
    "PRIORITY_CLASSES",
    "ChargingGoal",
    "Evaluation",
    "PlanSlot",
    "PlanningError",
    "PlanningWindow",
    "ProfileTemplate",
    "Rule",
    "RuleFileError",
    "RuleIssue",
    "RuleSet",
    "SessionFacts",
    "SessionGoal",
    "SessionPlan",
    "SessionPolicy",
    "SitePlan",
    "Strategy",
    "TemplatePeriod",
    "Vehicle",
    "evaluate",
    "load_rules",
    "next_reevaluation",
    "plan_sessions",
    "rules_from_data",
]
