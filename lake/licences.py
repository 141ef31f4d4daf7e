"""What an SPDX expression allows: its disjunctive normal form over licence ids (license-expression does
the boolean algebra), the shape `license_scopes.terms` stores so SQL can decide allowed-ness."""
from __future__ import annotations

from functools import lru_cache

NOASSERTION = "NOASSERTION"


@lru_cache(maxsize=1)
def licensing():
    """license-expression's SPDX licensing (loading its licence index takes ~0.3 s: once per process)."""
    from license_expression import get_spdx_licensing
    return get_spdx_licensing()


@lru_cache(maxsize=4096)
def terms(expression: str | None) -> tuple[tuple[str, ...], ...]:
    """OR of ANDs of licence ids: "MIT OR (Apache-2.0 AND BSD-3-Clause)" -> (("MIT",), ("Apache-2.0",
    "BSD-3-Clause")). An exception only adds permissions, so "X WITH E" counts as X. An expression that
    does not parse, or NOASSERTION, is the one term NOASSERTION, which no allow-list holds."""
    from license_expression import ExpressionError
    spdx = licensing()
    if not expression or expression.strip() == NOASSERTION:
        return ((NOASSERTION,),)
    try:
        parsed = spdx.parse(expression, validate=True, strict=True)
    except ExpressionError:
        return ((NOASSERTION,),)
    if parsed is None:
        return ((NOASSERTION,),)
    dnf = spdx.dnf(parsed)
    ors = dnf.args if isinstance(dnf, spdx.OR) else (dnf,)
    out = []
    for conj in ors:
        ands = conj.args if isinstance(conj, spdx.AND) else (conj,)
        out.append(tuple(sorted({getattr(s, "license_symbol", s).key for s in ands})))
    return tuple(sorted(set(out)))


def allowed(expression: str | None, allowed_ids) -> bool:
    """True when one way of taking the expression needs only allowed licences (AND: all, OR: either)."""
    ids = set(allowed_ids)
    return any(all(t in ids for t in conj) for conj in terms(expression))
