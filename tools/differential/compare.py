"""Three answers to one operation -> a verdict: who agrees with whom on ``data``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

OURS, HIVE, APOLLO = "ours", "hive", "apollo"

# Verdict kinds, by which of the three answers agree on ``data``.
ALL_AGREE = "all-agree"
OURS_WRONG = "ours-differs"  # both references agree, we do not: a failure
HIVE_ALONE = "hive-differs"  # ours and Apollo agree
APOLLO_ALONE = "apollo-differs"  # ours and Hive agree
ALL_DIFFER = "all-differ"


def canonical(answer: Any) -> str:
    """``data`` of a GraphQL response as sorted JSON (key order carries no meaning in a comparison)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    return json.dumps(data, sort_keys=True)


@dataclass(frozen=True)
class Verdict:
    kind: str
    answers: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.kind == OURS_WRONG


def judge(answers: dict[str, Any]) -> Verdict:
    o, h, a = canonical(answers[OURS]), canonical(answers[HIVE]), canonical(answers[APOLLO])
    if o == h == a:
        kind = ALL_AGREE
    elif h == a:
        kind = OURS_WRONG
    elif o == a:
        kind = HIVE_ALONE
    elif o == h:
        kind = APOLLO_ALONE
    else:
        kind = ALL_DIFFER
    return Verdict(kind, answers)
