"""A small, ongoing test of who responds to service.

The service response curve g(e) is public, but how strongly each customer
responds (θ) is not.  A firm can measure it the way marketers do: hold out
a random share of the customers it chose to serve, serve the rest, and
compare.  Under the model of ``sim.analytics.service_lift`` a served
customer buys at λ(1 + φθg) and, as a member, cancels with probability
1 − (1 − p)^(e^(−θg)) instead of p; φ and g are public, so the served
customers' purchases and cancellations against the held-out ones' measure θ.

Each turn's hold-out is drawn afresh (a keyed stream per turn, fixed per
row), so the held-out and the served have had the same past treatment.
Both groups' outcomes are set against the lab's prediction for each
customer, and only the split of the pooled count between the groups is
used (a binomial with success probability served-expected / total-
expected): the lab's bias cancels, leaving θ.  It cancels only between
groups drawn from the same customers at random, so the served and the
held out are compared within each random split (e.g. the chosen, held
out at a small share, and a few probes, held out at half): pooled, the
chosen would be set against the probes, whose prediction errs
differently.  The log-likelihood of θ on
a grid adds up over turns, per segment (acquisition channel); a segment's
estimate is its posterior mean under a normal prior, shrunk toward the
other segments by counting their evidence at 1/segments weight.
Purchase counts vary more than Poisson between customers, so their
log-likelihood is halved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..observation import Observation
from ..rng import uniforms
from ..unique import unique_rows, unique_values

__all__ = ["GRID", "ResponseTest"]

#: Values of θ the likelihood is tracked at.
GRID = np.linspace(0.0, 3.0, 61)
#: Weight of a purchase count's binomial log-likelihood (overdispersion).
_PURCHASE_WEIGHT = 0.5
#: Weight of a cancellation count's: the lab's predicted churn is itself uncertain.
_CANCEL_WEIGHT = 0.7
#: Fewest customers in each group for a segment's split to count: one served and one
#: held out already say something, and the binomial weighs it by the counts.
_MIN_GROUP = 1
#: The grid of the segments' common mean and spread of θ (empirical Bayes).
_MEANS = np.linspace(0.0, 2.0, 41)
_SPREADS = (0.15, 0.25, 0.4, 0.6, 1.0)


@dataclass
class _Pending:
    turn: int
    rows: np.ndarray
    held: np.ndarray
    segment: np.ndarray
    effect: np.ndarray
    purchases: np.ndarray
    dropout: np.ndarray
    cancel: np.ndarray | None
    split: np.ndarray


class ResponseTest:
    """Hold out a share of the served each turn; estimate θ per segment from the outcome.

    Args:
        segments: number of segments (e.g. acquisition channels).
        holdout: share of the customers chosen for service held out.
        prior_mean, prior_sd: normal prior of θ (truncated at 0).
    """

    def __init__(self, segments: int, holdout: float = 1 / 32, prior_mean: float = 0.8,
                 prior_sd: float = 1.0, first_turns: int = 2, first_holdout: float = 0.25):
        self.segments = segments
        self.holdout = holdout
        self.first_turns = first_turns
        self.first_holdout = first_holdout
        self.log_prior = -0.5 * ((GRID - prior_mean) / prior_sd) ** 2
        self.log_lik = np.zeros((segments, GRID.size))
        self._pending: _Pending | None = None
        self._draw: tuple[int, int, np.ndarray] | None = None

    def held_out(self, rows: np.ndarray, turn: int, n_rows: int,
                 share: float | None = None) -> np.ndarray:
        """True for the customers of ``rows`` held out this turn (fixed per row and turn).

        Args:
            share: the share held out (default: the test's share this turn).
        """
        if self._draw is None or self._draw[:2] != (turn, n_rows):
            # A turn's test asks twice (the chosen, then the probes): one draw serves both.
            self._draw = (turn, n_rows, uniforms(0, "response_test", turn, n_rows))
        draw = self._draw[2]
        if share is None:
            share = self.first_holdout if turn <= self.first_turns else self.holdout
        return draw[rows] < share

    def record(self, turn: int, rows: np.ndarray, held: np.ndarray, segment: np.ndarray,
               effect: np.ndarray, purchases: np.ndarray, dropout: np.ndarray,
               cancel: np.ndarray | None, split: np.ndarray | None = None) -> None:
        """Remember this turn's test until its outcome is seen.

        Args:
            turn: the turn being decided.
            rows: customer rows chosen for service (served and held out).
            held: True where the row is held out.
            segment: each row's segment.
            effect: g(e) of each row's planned spend.
            purchases: each row's predicted purchases this turn without service.
            dropout: each row's expected dropout rate μ per turn (a served
                customer also buys for longer within the turn).
            cancel: each member's predicted chance of cancelling this turn
                without service (None in a non-contractual business).
            split: each row's random split (rows of one split were held out
                at one share from one set of customers); default all one.
        """
        if split is None:
            split = np.zeros(rows.size, dtype=np.int64)
        self._pending = _Pending(turn, rows, held, segment, effect, purchases, dropout, cancel,
                                 np.asarray(split, dtype=np.int64))

    @property
    def awaiting(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(customer rows, held out) of the test recorded this turn, its outcome not yet seen; else None."""
        p = self._pending
        return None if p is None else (p.rows.copy(), p.held.copy())

    def update(self, observation: Observation, purchase_boost: float) -> None:
        """Add the outcome of the test recorded last turn (if any) to the likelihood."""
        p = self._pending
        self._pending = None
        if p is None or observation.turn != p.turn + 1 or p.rows.size == 0:
            return
        column = int(np.searchsorted(observation.turn_columns, p.turn))
        bought = observation.purchases[p.rows, column].astype(float)
        cancelled = None
        if p.cancel is not None:
            cancelled = (observation.cancel_turn[p.rows] == p.turn).astype(float)
        splits = int(p.split.max()) + 1
        for code in unique_values((p.segment.astype(np.int64) * splits + p.split).reshape(-1)):
            k = int(code // splits)
            mine = (p.segment == k) & (p.split == code % splits)
            served, held = mine & ~p.held, mine & p.held
            if served.sum() < _MIN_GROUP or held.sum() < _MIN_GROUP:
                continue
            # The served share a few (dropout, effect) pairs (one per age and spend): the
            # expected count per θ is summed per pair, not per customer.
            rows, pair = unique_rows(np.column_stack([p.dropout[served], p.effect[served]]))
            pairs = rows.T
            weight = np.bincount(pair.reshape(-1), p.purchases[served], pairs.shape[1])
            effect = GRID[None, :] * pairs[1][:, None]
            longer = 1.0
            if cancelled is None:
                mu = pairs[0][:, None]
                longer = _exposure(mu * np.exp(-effect)) / _exposure(mu)
            expected = weight @ ((1.0 + purchase_boost * effect) * longer)
            ll = _PURCHASE_WEIGHT * _split(bought[served].sum(), bought[held].sum(), expected,
                                           p.purchases[held].sum())
            if cancelled is not None:
                # The term once per (churn, effect) pair, then one row per member summed in
                # the same order as before: the same sum, bit for bit, at a fraction of the powers.
                kinds, kind = unique_rows(np.column_stack([p.cancel[served], p.effect[served]]))
                stay = 1.0 - kinds[:, 0][:, None]
                each = GRID[None, :] * kinds[:, 1][:, None]
                expected = (1.0 - stay ** np.exp(-each))[kind].sum(axis=0)
                ll = ll + _CANCEL_WEIGHT * _split(cancelled[served].sum(), cancelled[held].sum(),
                                                  expected, p.cancel[held].sum())
            self.log_lik[k] += ll - ll.max()

    def posterior(self) -> np.ndarray:
        """(segments, grid) posterior of θ per segment.

        Empirical Bayes across segments: θ_k ~ N(m, τ²), with (m, τ) the
        pair on a small grid that makes the segments' evidence most likely
        (times the prior on m).  Segments that agree are pooled strongly,
        segments that differ keep their own estimates, and a segment with
        no evidence yet gets the others' mean.
        """
        lik = np.exp(self.log_lik - self.log_lik.max(axis=1, keepdims=True))
        best, best_value = None, -np.inf
        for m in _MEANS:
            for tau in _SPREADS:
                prior = np.exp(-0.5 * ((GRID - m) / tau) ** 2)
                prior /= prior.sum()
                value = float(np.sum(np.log(lik @ prior + 1e-300))) + float(
                    np.interp(m, GRID, self.log_prior))
                if value > best_value:
                    best, best_value = prior, value
        post = lik * best[None, :]
        return post / post.sum(axis=1, keepdims=True)

    def theta(self) -> np.ndarray:
        """Posterior mean of θ per segment."""
        return self.posterior() @ GRID


def _exposure(mu: np.ndarray) -> np.ndarray:
    """Expected share of a turn lived by a customer alive at its start (dropout rate μ)."""
    safe = np.maximum(mu, 1e-12)
    return np.where(mu > 1e-12, -np.expm1(-safe) / safe, 1.0)


def _split(served: float, held: float, served_expected: np.ndarray, held_expected: float) -> np.ndarray:
    """Binomial log-likelihood of ``served`` of the pooled count falling to the served group."""
    if served + held <= 0 or held_expected <= 0:
        return np.zeros_like(served_expected)
    share = np.clip(served_expected / (served_expected + held_expected), 1e-12, 1 - 1e-12)
    return served * np.log(share) + held * np.log1p(-share)
