"""report: what a compiled step says of itself: its exactness against eager, and its tape.

`CompiledStep.check` compares one compiled call with one eager forward and backward under
`TOLERANCE` (`CheckReport`); `CompiledStep.tape` describes the program a trace became
(`describe_tape`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .plan import Program, Tape

__all__ = ["TOLERANCE", "CheckReport", "checked", "describe_tape"]

#: How close a compiled step is to the eager engine, and how close `CompiledStep.check`
#: requires it to be: ``|compiled - eager| <= TOLERANCE * M`` for the loss and each gradient,
#: where M is the magnitude of the terms (for a gradient, the sum over its chain-rule paths of
#: the magnitude of each path's product; for the loss, the sum of the magnitudes of the numbers
#: the graph computes).
TOLERANCE = 1e-12


@dataclass(frozen=True)
class CheckReport:
    """A compiled call compared with an eager forward and backward: `CompiledStep.check`.

    Truthy when the loss and every gradient agree within ``TOLERANCE`` times the magnitude
    of their terms.

    Attributes:
        loss: the compiled loss.
        eager_loss: the eager engine's loss.
        loss_difference: their absolute difference.
        grad_difference: the largest absolute difference over the parameters' gradients.
        worst: the label (or index) of the parameter where the difference is largest relative
            to its bound.
        parameters: how many gradients were compared.
        compiled: False when the compiled call itself ran eagerly (a guard or domain error).
        loss_scale: the magnitude of the loss's terms.
        grad_excess: the largest gradient difference divided by its bound (<= 1 passes).
    """

    loss: float
    eager_loss: float
    loss_difference: float
    grad_difference: float
    worst: str
    parameters: int
    compiled: bool
    loss_scale: float = 1.0
    grad_excess: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the loss and every gradient agree within the bound."""
        return bool(self.loss_difference <= TOLERANCE * self.loss_scale
                    and self.grad_excess <= 1.0)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "agree" if self.ok else "DISAGREE"
        how = "" if self.compiled else " (this call ran eagerly)"
        return (f"compiled and eager {verdict} within {TOLERANCE:g} of the magnitude of the "
                f"terms{how}: loss {self.loss!r} vs {self.eager_loss!r} (difference "
                f"{self.loss_difference:.3g}); {self.parameters} gradients, largest "
                f"difference {self.grad_difference:.3g}, at most {self.grad_excess:.3g} of its "
                f"bound (at {self.worst})")


def checked(loss, eager_loss, mine, theirs, scales, loss_scale, params, compiled) -> CheckReport:
    """The `CheckReport` of a compiled call (``loss``, gradients ``mine``) beside an eager one."""
    diffs = [abs(a - b) for a, b in zip(mine, theirs)]
    # A bound never below the result itself, nor below the smallest normal float.
    excess = [d / (TOLERANCE * max(s, abs(t), 2.2e-308))
              for d, s, t in zip(diffs, scales, theirs)]
    worst = max(range(len(excess)), key=excess.__getitem__, default=None)
    label = "-" if worst is None else (params[worst].label or f"parameter {worst}")
    return CheckReport(loss, eager_loss, abs(loss - eager_loss), max(diffs, default=0.0),
                       label, len(params), compiled, max(loss_scale, abs(eager_loss)),
                       max(excess, default=0.0))


def describe_tape(program: Program | None, eager_reason: dict) -> Tape | None:
    """The `Tape` of ``program`` (or of a step that runs eagerly)."""
    if program is None:
        if eager_reason:
            reason = next(iter(eager_reason.values()))
            return Tape(0, 0, 0, 0, 0, 0, (), 0, 0, 0, (), reason)
        return None
    return Tape(program.nodes, program.leaf_count, len(program.params),
                len(program.input_slots), program.edge_count, program.levels,
                program.groups, program.numpy_calls,
                sum(len(g[1]) for g in program.outcome_guards), len(program.exact_slots),
                program.reasons, input_checks=sum(len(idx) for _, idx in program.checks),
                shift_guards=len(program.shift_slots))
