"""codectx.clues: every match of a pattern holds one of its required literals."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codectx.clues import required_literals
from codectx.secrets import _gates

PATTERNS = [
    r"(?:\s|=|:|\"|^)AP[\dABCDEF][a-zA-Z0-9]{8,}(?:\s|\"|$)",
    r"(?:ibm(?:_|-|)cloud(?:_|-|)iam|cloud(?:_|-|)iam|ibm|iam|cloud|)(?:_|-|)(?:api|)(?:_|-|)(?:key|pwd|password|pass|token)"
    r"(?:\"|'|)(?:\]|)(?: *)(?:=|:|:=|=>| +|::)(?: *)(?:\"|'|)([a-zA-Z0-9_\-]{44}(?![a-zA-Z0-9_\-]))",
    r"(?:r|s)k_live_[0-9a-zA-Z]{24}",
    r"xox(?:a|b|p|o|s|r)-(?:\d+-)+[a-z0-9]+",
    r"(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}(?!\w)",
    r"https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+",
    r"(?:ab){2,3}c?d",
]


@pytest.mark.parametrize("source", PATTERNS)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_match_holds_a_clue(source: str, data: st.DataObject) -> None:
    for flags in (0, re.IGNORECASE):
        pattern = re.compile(source, flags)
        clues = required_literals(pattern)
        assert clues
        text = data.draw(st.from_regex(pattern))
        match = pattern.search(text)
        assert match is not None
        found = match.group()
        if flags:
            assert any(c.lower() in found.lower() for c in clues), (clues, found)
        else:
            assert any(c in found for c in clues), (clues, found)


def test_clues_are_long_and_few_for_the_slow_detector_patterns() -> None:
    ibm = re.compile(PATTERNS[1], re.IGNORECASE)
    assert required_literals(ibm) == ("key", "pass", "pwd", "token")
    assert required_literals(re.compile(PATTERNS[2])) == ("k_live_",)


def test_patterns_without_a_usable_literal_get_none() -> None:
    assert required_literals(re.compile(r"\d{8,10}:[0-9A-Za-z_-]{35}")) is None  # only ":" is certain
    assert required_literals(re.compile(r"(['\"])[a-z]{20,}\1")) is None
    assert required_literals(re.compile(r"abc|\w+")) is None  # one alternative needs no literal
    assert required_literals(re.compile(r"(?i:abc)de")) == ("de",)  # a group with its own case flags tells nothing


def test_the_secret_gates_use_clues_for_the_slow_patterns() -> None:
    clued = {g.pattern.pattern: g.clues for g in _gates()}
    ibm = next(clues for source, clues in clued.items() if source.startswith("(?:ibm(?:_|-|)cloud"))
    assert ibm == ("key", "pass", "pwd", "token")
