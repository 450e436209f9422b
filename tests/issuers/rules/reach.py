"""What a property of the rules engine reached over its examples, and the check that it was enough.

A property that lets a refusal or a missing result pass would also pass for an engine that
refuses everything or always answers the same. So each property records what every example
reached and, after Hypothesis has run them all, asserts that every result group, category and
branch it speaks of was reached and that most examples were assessed rather than refused::

    reach = Reach()
    run_the_property(reach)  # calls reach.record(assess(...) or its RuleViolation)
    reach.assert_reached(outcomes={(ResultGroup.EXAM, ExamCategory.PASSED)}, branches={"ikv"})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from issuers.rules import Assessment, Category, ResultGroup, RuleViolation

Outcome = tuple[ResultGroup, Category | None]
"""A result group and its category; ``None``: no final result yet ("Ej relevant")."""


@dataclass
class Reach:
    """Counts of the outcomes, refusals and named branches a property's examples reached."""

    outcomes: Counter[Outcome] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    branches: Counter[str] = field(default_factory=Counter)

    def record(self, answer: Assessment | RuleViolation) -> None:
        """Record the engine's answer to one example: an assessment or a refusal."""
        if isinstance(answer, RuleViolation):
            self.refusals[answer.rule] += 1
        else:
            self.outcomes[answer.group, answer.category] += 1

    def branch(self, name: str) -> None:
        """Record that an example reached a branch of the property's own checks."""
        self.branches[name] += 1

    def assert_reached(
        self, *, outcomes: Iterable[Outcome] = (), branches: Iterable[str] = ()
    ) -> None:
        """Assert that every outcome and branch was reached and most examples were assessed.

        Raises ``AssertionError`` naming what was not reached, or the refusals that crowded out
        the assessed examples.
        """
        assessed = self.outcomes.total()
        refused = self.refusals.total()
        missing = [
            f"group {g.number}: {_category(c)}" for g, c in outcomes if (g, c) not in self.outcomes
        ]
        missing += [name for name in branches if name not in self.branches]
        assert not missing, (
            f"not reached in {assessed + refused} examples: {', '.join(missing)} "
            f"(reached {self._summary()})"
        )
        assert assessed > refused, (
            f"refused {refused} of {assessed + refused} examples; most must be assessed "
            f"(refusals {dict(self.refusals.most_common(5))})"
        )

    def _summary(self) -> str:
        outcomes = {f"{g.number}: {_category(c)}": n for (g, c), n in self.outcomes.items()}
        return f"{outcomes}, branches {dict(self.branches)}, {self.refusals.total()} refused"


def _category(category: Category | None) -> str:
    return "Ej relevant" if category is None else f"{category.number} {category.value}"
