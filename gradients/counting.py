"""Operation tallies that every provider keeps while it runs.

Costs are compared in two machine-independent units:

- ``multiplications``: scalar multiplications in the affine maps of forward passes and in the
  chain-rule products of backward passes or path expansions. Activation functions, the loss
  and its derivative with respect to the outputs are evaluated, not counted: every provider
  needs them equally, and they are linear in the layer sizes.
- ``loss_evaluations``: forward passes of the whole batch that end in a loss value.

The tally is what the code did, incremented next to the numpy call that did it; the closed-form
predictions in each provider's ``predict_counts`` are checked against it in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class OpCounts:
    """A running tally of counted operations."""

    multiplications: int = 0
    loss_evaluations: int = 0

    def __add__(self, other: OpCounts) -> OpCounts:
        return OpCounts(
            self.multiplications + other.multiplications,
            self.loss_evaluations + other.loss_evaluations,
        )

    def add(self, other: OpCounts) -> None:
        """Add ``other`` into this tally in place."""
        self.multiplications += other.multiplications
        self.loss_evaluations += other.loss_evaluations
