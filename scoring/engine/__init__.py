"""The scoring engine: pure Python, no Django.

Services load rows, build `ScoringFacts`, call `evaluate(compile_version(document), facts)`
and persist `ScoreResult.to_dict()`. See `rules.py` for the rule document format and
the top-level `conditions` package for the condition language and field catalogue.
"""

from conditions.describe import describe_condition
from conditions.language import OPERATORS, compile_condition, validate_condition
from scoring.engine.accounts import AccountScoreResult, LeadPart, account_roll_up
from scoring.engine.defaults import DEFAULT_RULES, default_rules
from scoring.engine.describe import describe
from scoring.engine.diff import diff
from scoring.engine.evaluate import evaluate, evaluate_account_paths
from scoring.engine.facts import AccountFacts, EventFacts, LeadFacts, PqlMatch, RuleHit, ScoreResult, ScoringFacts
from scoring.engine.rules import (
    CompiledVersion,
    RuleValidationError,
    check_version,
    compile_version,
    content_hash,
    validate_rule,
    validate_version,
)

__all__ = [
    "OPERATORS",
    "DEFAULT_RULES",
    "AccountFacts",
    "AccountScoreResult",
    "CompiledVersion",
    "EventFacts",
    "LeadFacts",
    "LeadPart",
    "PqlMatch",
    "RuleHit",
    "RuleValidationError",
    "ScoreResult",
    "ScoringFacts",
    "account_roll_up",
    "check_version",
    "compile_condition",
    "compile_version",
    "content_hash",
    "default_rules",
    "describe",
    "describe_condition",
    "diff",
    "evaluate",
    "evaluate_account_paths",
    "validate_condition",
    "validate_rule",
    "validate_version",
]
