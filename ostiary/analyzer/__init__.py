"""Access Analyzer's policy validation: every finding on a policy document, located in its text. Pure.

findings = validate(text, "IDENTITY_POLICY")          # [Finding], in the order of the text
findings[0].as_api()                                  # the ValidatePolicyFinding shape
"""

from __future__ import annotations

from ostiary.analyzer.finding import Finding, Location, Position
from ostiary.analyzer.issues import ISSUES
from ostiary.analyzer.validate import KINDS, POLICY_TYPES, guess_kind, validate

__all__ = ["ISSUES", "KINDS", "POLICY_TYPES", "Finding", "Location", "Position", "guess_kind", "validate"]
