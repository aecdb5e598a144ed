"""Who stays: a latent-class retention model for a contractual business.

Members renew or cancel at the end of each period.  A single shifted-beta-
geometric fitted to all cohorts (``sim.analytics.sbg``) gives every member
of the same tenure the same future, and with little history its Beta tail
near zero churn makes the survivors look immortal (it overstates the value
of a young base several times over).  Channels differ in whom they bring,
so here every segment (acquisition channel) has its own mix of a few
classes of members, and the classes' churn per period is shared by all
segments (a finite-mixture geometric model of duration; see e.g. Fader &
Hardie 2007 on heterogeneity in retention)::

    P(cancel at the end of period n | class k) = (1 − p_k)^(n−1) · p_k
    P(segment s member is in class k)          = π_{s,k}

It is fitted by EM to every member's tenure (periods paid, and whether they
have cancelled), compressed to counts per (segment, tenure, cancelled).  A
member who has renewed n times is in class k with posterior probability
∝ π_{s,k}·(1 − p_k)^n: survivors drift to the loyal classes, and a young
member is valued by her channel's mix.  A weak prior (``PRIOR_TURNS``
member-periods at the base's churn rate per class) keeps a class seen for
only a few periods from being called immortal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..observation import Observation
from ..unique import unique_counts
from .fitting import DataError, FitResult

__all__ = ["RetentionFit", "tenure", "fit", "class_posterior", "fit_observation"]

#: Latent classes of members.
CLASSES = 3
#: Prior strength: member-periods at the base's churn rate added to each class.
PRIOR_TURNS = 20.0
_ITERATIONS = 400
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class RetentionFit(FitResult):
    """A latent-class retention fit.

    ``params`` holds each class's churn per period (``p1`` ... ``pK``,
    smallest first); ``weights`` the (segments, classes) mix of each
    segment's members.
    """

    weights: np.ndarray = field(default=None, repr=False, compare=False)

    @property
    def churn(self) -> np.ndarray:
        return np.array([self.params[f"p{k + 1}"] for k in range(len(self.params))])


def tenure(observation: Observation) -> tuple[np.ndarray, np.ndarray]:
    """(periods paid, cancelled) of every member, from the observation.

    A member acquired in turn a who cancelled at the end of turn c paid
    c − a + 1 periods and renewed c − a times; one still active has paid
    and renewed every period up to the last completed turn.
    """
    acquired = observation.acquisition_turn.astype(np.int64)
    last = observation.turn - 1
    cancel = observation.cancel_turn.astype(np.int64)
    cancelled = cancel <= last
    paid = np.minimum(cancel, last) - acquired + 1
    return paid, cancelled


def fit(segment: np.ndarray, paid: np.ndarray, cancelled: np.ndarray, segments: int,
        classes: int = CLASSES, start: RetentionFit | None = None) -> RetentionFit:
    """EM fit of the latent-class retention model.

    Args:
        segment: segment index of each member (0 .. segments − 1).
        paid: periods each member has paid (≥ 1).
        cancelled: True where the member cancelled after the last period paid.
        segments: number of segments.
        classes: number of latent classes.
        start: a previous fit to start from (a base changes little in a turn).

    Raises:
        DataError: no member has been seen to renew or cancel yet.
    """
    paid = np.asarray(paid, dtype=np.int64)
    done = np.asarray(cancelled, dtype=np.int64)
    if paid.size == 0 or (done.sum() == 0):
        raise DataError("no member has cancelled yet: nothing to fit retention to")
    key = (np.asarray(segment, dtype=np.int64) * (paid.max() + 1) + paid) * 2 + done
    rows, count = unique_counts(key)
    d = (rows % 2).astype(float)
    n = ((rows // 2) % (paid.max() + 1)).astype(float)
    seg = rows // 2 // (paid.max() + 1)
    # Each period paid was a chance to cancel: exits over periods is the base's churn rate.
    base_rate = float(np.sum(count * d)) / max(float(np.sum(count * n)), 1.0)
    if start is not None and start.weights is not None and start.weights.shape == (segments, classes):
        p, weights = start.churn.copy(), start.weights.copy()
    else:
        p = np.geomspace(max(base_rate / 4, 1e-3), min(base_rate * 4, 0.9), classes)
        weights = np.full((segments, classes), 1.0 / classes)
    previous = -np.inf
    for _ in range(_ITERATIONS):
        log_lik = (n - d)[:, None] * np.log1p(-p)[None, :] + d[:, None] * np.log(p)[None, :]
        joint = np.log(weights[seg]) + log_lik
        top = joint.max(axis=1, keepdims=True)
        total = top[:, 0] + np.log(np.exp(joint - top).sum(axis=1))
        resp = np.exp(joint - total[:, None]) * count[:, None]
        weights = np.zeros((segments, classes))
        np.add.at(weights, seg, resp)
        weights = (weights + 1e-3) / (weights + 1e-3).sum(axis=1, keepdims=True)
        exits = resp.T @ d + PRIOR_TURNS * base_rate
        exposure = resp.T @ n + PRIOR_TURNS
        p = np.clip(exits / exposure, 1e-4, 0.999)
        value = float(np.dot(count, total))
        if value - previous < _TOLERANCE * max(abs(value), 1.0):
            break
        previous = value
    order = np.argsort(p)
    p, weights = p[order], weights[:, order]
    return RetentionFit({f"p{k + 1}": float(x) for k, x in enumerate(p)},
                        {f"p{k + 1}": float("nan") for k in range(classes)},
                        float(previous), int(count.sum()), True, weights=weights)


def class_posterior(result: RetentionFit, segment: np.ndarray, renewals: np.ndarray) -> np.ndarray:
    """(members, classes) probability of each class for a member still subscribed.

    Args:
        segment: each member's segment.
        renewals: periods each member has been seen to renew.
    """
    churn = result.churn
    joint = np.log(result.weights[segment]) + np.asarray(renewals, float)[:, None] * np.log1p(-churn)
    joint -= joint.max(axis=1, keepdims=True)
    post = np.exp(joint)
    return post / post.sum(axis=1, keepdims=True)


def fit_observation(observation: Observation, start: RetentionFit | None = None) -> RetentionFit:
    """The model fitted to the game's members, one segment per acquisition channel."""
    paid, cancelled = tenure(observation)
    return fit(observation.channel.astype(np.int64), paid, cancelled,
               len(observation.scenario.customer_channel_names), start=start)
