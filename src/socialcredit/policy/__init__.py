"""Published scoring policy as data: a national baseline and regional extensions.

Policy files (``data/policies/*.yaml``) are validated, linted and resolved along
``extends`` into flat, immutable ``ResolvedPolicy`` values (scoring rules and the entry
criteria of the red and black lists); ``select_policy`` picks
the one that applies to a province on a date. Scoring itself lives elsewhere and
reads only these values.
"""

from socialcredit.policy.errors import NoPolicyInForceError, PolicyError
from socialcredit.policy.findings import Finding
from socialcredit.policy.loader import (
    CheckReport,
    check_paths,
    load_policies,
    load_policy_files,
    shipped_policy_dir,
)
from socialcredit.policy.model import (
    AmountBand,
    BlackCriterion,
    BlackListRules,
    CategoryPolicy,
    GradeBand,
    ListRules,
    RedCriterion,
    RedListRules,
    Repeat,
    ResolvedPolicy,
    Rule,
    Sanction,
    Trigger,
    version_key,
)
from socialcredit.policy.select import find_policy, select_policy

__all__ = [
    "AmountBand",
    "BlackCriterion",
    "BlackListRules",
    "CategoryPolicy",
    "CheckReport",
    "Finding",
    "GradeBand",
    "ListRules",
    "NoPolicyInForceError",
    "PolicyError",
    "RedCriterion",
    "RedListRules",
    "Repeat",
    "ResolvedPolicy",
    "Rule",
    "Sanction",
    "Trigger",
    "check_paths",
    "find_policy",
    "load_policies",
    "load_policy_files",
    "select_policy",
    "shipped_policy_dir",
    "version_key",
]
