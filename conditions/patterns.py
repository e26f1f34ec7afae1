"""Patterns: the safe regular-expression subset, and the whole-word pattern of a word list.

Regex patterns are limited to a subset that cannot backtrack catastrophically: at most
200 characters, no backreferences or lookarounds, no quantifier applied to a group that
contains another quantifier or an alternation, at most two variable-length quantifiers;
they are matched against the first 256 characters of the field. Word lists compile to
escaped alternatives, which never backtrack badly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Python 3.11's own regex parser (private but stable within a pinned interpreter): walking
# its tree is the only reliable way to tell a nested quantifier from a bracketed one.
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

MAX_REGEX_LENGTH = 200
MAX_REGEX_VARIABLE_REPEATS = 2
# Patterns are matched against at most this many characters; with two variable-length
# quantifiers the worst case stays in the low milliseconds.
REGEX_SUBJECT_LIMIT = 256


def check_regex(pattern: str) -> str | None:
    """Why `pattern` is not in the safe regex subset, or None when it is."""
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"the regex is {len(pattern)} characters long; the limit is {MAX_REGEX_LENGTH}"
    try:
        parsed = sre_parse.parse(pattern)
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as error:
        return f"the regex does not compile ({error})"
    variable_repeats = 0

    def walk(items: Iterable, inside_repeat: bool) -> str | None:
        nonlocal variable_repeats
        for op, argument in items:
            if op in (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
                return "the regex uses a backreference, which is not allowed"
            if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
                return "the regex uses a lookahead or lookbehind, which is not allowed"
            if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
                low, high, sub = argument
                if inside_repeat:
                    return "the regex repeats a group that itself contains a repeat (like (a+)+), which is not allowed"
                if high is sre_constants.MAXREPEAT or high - low > 10:
                    variable_repeats += 1
                    if variable_repeats > MAX_REGEX_VARIABLE_REPEATS:
                        return (
                            f"the regex has more than {MAX_REGEX_VARIABLE_REPEATS} open-ended repeats "
                            "(*, +, {n,}), which can make matching slow"
                        )
                problem = walk(sub, True)
                if problem:
                    return problem
            elif op is sre_constants.BRANCH:
                if inside_repeat:
                    return "the regex repeats a group that contains alternatives (like (a|b)+), which is not allowed"
                for branch in argument[1]:
                    problem = walk(branch, inside_repeat)
                    if problem:
                        return problem
            elif op is sre_constants.SUBPATTERN:
                problem = walk(argument[-1], inside_repeat)
                if problem:
                    return problem
            elif op is sre_constants.ATOMIC_GROUP:
                problem = walk(argument, inside_repeat)
                if problem:
                    return problem
        return None

    return walk(parsed, False)


def words_pattern(words: Iterable[str]) -> re.Pattern:
    """One pattern finding any of `words` as whole words, ignoring case.

    "Whole word": not preceded or followed by a letter, digit or underscore, so "vp" is found
    in "VP Data" and "Sales (VP)" but not in "MVP"; words made of several parts ("vice
    president") allow any run of spaces between them. Every word is escaped: it is text, never
    a pattern, so matching stays linear.
    """
    alternatives = sorted(
        {r"\s+".join(re.escape(part) for part in word.split()) for word in words if word.strip()},
        key=len,
        reverse=True,
    )
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)
