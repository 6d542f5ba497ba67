"""Our composer beside Apollo's (``@apollo/composition`` from package.json, run by the repo's node).

``outcomes(cases)`` composes every case both ways and returns one ``Outcome`` per case: whether
each side composed, the error codes each reported, and for cases both composed the semantic
differences of the supergraphs (``supergraph_semantics.differences``: order, layout and field-set
spelling ignored).  ``python -m tests.gateway.compose.differential`` prints the disagreements.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devstack.node_tools import node, node_env
from gateway.supergraph.compose import CompositionError, SubgraphSource, compose_supergraph
from tests.gateway.compose.corpus import REPO, Case, corpus
from tests.gateway.compose.supergraph_semantics import differences

SCRIPT = Path(__file__).resolve().parent / "reference" / "compose.cjs"


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    ours_ok: bool
    theirs_ok: bool
    ours_codes: frozenset[str]
    theirs_codes: frozenset[str]
    supergraph_diffs: tuple[str, ...]
    ours_messages: tuple[str, ...]
    theirs_messages: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        if self.ours_ok != self.theirs_ok:
            return False
        if self.ours_ok:
            return not self.supergraph_diffs
        return self.ours_codes == self.theirs_codes


def reference(cases: list[Case]) -> dict[str, dict[str, object]]:
    exe = node()
    if exe is None:
        raise RuntimeError("node is missing: make install")
    payload = [
        {"name": c.name, "subgraphs": [{"name": n, "url": u, "sdl": s} for n, u, s in c.subgraphs]}
        for c in cases
    ]
    proc = subprocess.run(
        [exe, str(SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=node_env(),
        timeout=600,
        check=True,
    )
    return {r["name"]: r for r in json.loads(proc.stdout)}


def ours(case: Case) -> tuple[str | None, list[str], list[str]]:
    try:
        sdl = compose_supergraph([SubgraphSource(n, u, s) for n, u, s in case.subgraphs])
    except CompositionError as exc:
        return None, [i.code for i in exc.issues], [str(i) for i in exc.issues]
    except Exception as exc:  # a crash is a disagreement, not a test error
        return None, ["CRASH"], [repr(exc)]
    return sdl, [], []


def outcomes(cases: list[Case]) -> list[Outcome]:
    ref = reference(cases)
    out: list[Outcome] = []
    for c in cases:
        r = ref[c.name]
        sdl, codes, messages = ours(c)
        theirs_sdl = r["supergraph"]
        diffs: tuple[str, ...] = ()
        if sdl is not None and isinstance(theirs_sdl, str):
            diffs = tuple(differences(sdl, theirs_sdl))
        out.append(
            Outcome(
                name=c.name,
                ours_ok=sdl is not None,
                theirs_ok=bool(r["ok"]),
                ours_codes=frozenset(codes),
                theirs_codes=frozenset(str(x) for x in r["codes"]),  # type: ignore[attr-defined]
                supergraph_diffs=diffs,
                ours_messages=tuple(messages),
                theirs_messages=tuple(str(x) for x in r["messages"]),  # type: ignore[attr-defined]
            )
        )
    return out


def main() -> int:
    results = outcomes(corpus())
    bad = [o for o in results if not o.agrees]
    for o in bad:
        print(
            f"== {o.name}: ours ok={o.ours_ok} {sorted(o.ours_codes)}"
            f" / apollo ok={o.theirs_ok} {sorted(o.theirs_codes)}"
        )
        for d in o.supergraph_diffs[:5]:
            print("   diff:", d)
        for m in o.ours_messages[:3]:
            print("   ours:", m[:300])
        for m in o.theirs_messages[:3]:
            print("   apollo:", m[:300])
    valid = sum(o.theirs_ok for o in results)
    print(f"{len(results)} cases ({valid} valid for Apollo), {len(bad)} disagreements", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
