"""Remediation plans proven by the what-if (docs/plan.md).

    plan = plan_separate_nic(snapshot, "physnet2", "br-public", "eth2")   # or plan_fixes(...)
    plan.parts            # per host (or the northbound DB): ordered Steps with inverses
    plan.verification     # the what-if of the whole plan: end state, reach, rollback
    plan.status           # "proven" | "not-proven" | "nothing-to-do"
    plan_text(plan, part), rollback_text(plan, part)   # the change files
"""

from ovnguard.plan.files import plan_text, rollback_text
from ovnguard.plan.fixes import SUPPORTED as FIXABLE_RULES
from ovnguard.plan.fixes import plan_fixes
from ovnguard.plan.load import load_for_plan
from ovnguard.plan.model import (
    NORTHBOUND,
    FindingRef,
    NotProposed,
    Part,
    Plan,
    Reach,
    RollbackCheck,
    Step,
    Verification,
)
from ovnguard.plan.nicsep import plan_separate_nic
from ovnguard.plan.render import plan_json, plan_text_report, write_files
from ovnguard.plan.settle import settle
from ovnguard.plan.verify import verify

__all__ = [
    "FIXABLE_RULES",
    "NORTHBOUND",
    "FindingRef",
    "NotProposed",
    "Part",
    "Plan",
    "Reach",
    "RollbackCheck",
    "Step",
    "Verification",
    "load_for_plan",
    "plan_fixes",
    "plan_json",
    "plan_separate_nic",
    "plan_text",
    "plan_text_report",
    "rollback_text",
    "settle",
    "verify",
    "write_files",
]
