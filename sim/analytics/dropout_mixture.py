"""Dropout rates as a finite mixture of gammas, shared by the segments in a mix of their own.

One gamma of dropout rates per segment, fitted to a segment that mixes
kinds of customer (a department store's store-card holders: 40% loyal
shoppers leaving 10% a quarter, 60% gift buyers and bargain hunters
leaving 25%), takes a small shape: mass near zero dropout that a few years
of data cannot rule out.  The scorer's annuity 1/(mu + d) is convex, so
that near-immortal tail is what an equity estimate ends up counting.
Point classes of dropout (as ``sim.analytics.retention`` does for members)
cut that tail but also the smooth spread within one kind of customer (a
coffee chain's regulars).  Here each class keeps a gamma of its own, and,
as in the retention model, the classes are shared by every segment, each
segment (acquisition channel) with its own mix::

    mu | segment c ~ sum_k w_{c,k} Gamma(s_k, beta_k)

Within one segment a split of the dropout rates is hardly identified (a
customer's death is never seen); across channels that bring the same kinds
of customer in different proportions it is.

The purchase rate's gamma and the treatment are held at each segment's
Pareto/NBD fit, so a customer's likelihood under class k is the
Pareto/NBD's with (s_k, beta_k) and the mixture's the weighted sum;
every prediction is per class in closed form, weighted by the posterior
class probabilities.  The mixture is fitted by maximum likelihood with the
analytic gradient (each class's slope times its posterior share), with
the one-class fit's weak log-normal prior on each class's shape.  The
number of classes is chosen by the Bayesian information criterion among
one gamma per segment (the Pareto/NBD's own, refitted on the same rows)
and 2..``MAX_CLASSES`` shared classes; a class holding under
``MIN_WEIGHT`` of the customers is not identified and its mixture is not
considered.

The class-free parts of the likelihood come from the caller
(``sim.analytics.equity``): each row's dropout exposure B(T) through now,
and the nodes of the "died unseen" integral over (last purchase, now] with
B(tau) and the log of every factor there that does not depend on the
dropout distribution (quadrature weight, b(tau), purchase-rate term).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, special

from .fitting import hessian_from_gradient, inverse_if_positive_definite

__all__ = ["DropoutData", "DropoutMixture", "fit", "posterior"]

#: Most shared classes tried.
MAX_CLASSES = 2
#: The weak prior on each class's shape: ln s ~ N(ln median, sd^2), as the one-class fit's.
SHAPE_PRIOR_MEDIAN = 1.0
SHAPE_PRIOR_SD = 1.0
#: A class with a smaller share of the customers than this is not identified.
MIN_WEIGHT = 0.03


@dataclass(frozen=True)
class DropoutData:
    """What a distribution of dropout rates needs from the customers' histories.

    Attributes:
        segment: (n,) each row's segment.
        exposure: (n,) B(T), each row's dropout exposure through now (treatment-weighted turns).
        node_row: (m,) the row of each node of the death-time integral, grouped by row.
        node_exposure: (m,) B(tau) at each node.
        node_log: (m,) log of the node's class-free factors.
    """

    segment: np.ndarray
    exposure: np.ndarray
    node_row: np.ndarray
    node_exposure: np.ndarray
    node_log: np.ndarray

    def __post_init__(self):
        # Where each row's run of nodes starts (they are grouped by row), for the per-row sums.
        row = self.node_row
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]]) if row.size else np.zeros(0, dtype=np.int64)
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "counts", np.diff(np.append(starts, row.size)))

    @property
    def size(self) -> int:
        return int(self.exposure.size)

    @staticmethod
    def join(parts: list["DropoutData"]) -> "DropoutData":
        """One data set from several (rows renumbered in order)."""
        offsets = np.cumsum([0] + [p.size for p in parts[:-1]])
        return DropoutData(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("segment", "exposure")),
                           np.concatenate([p.node_row + o for p, o in zip(parts, offsets)]),
                           *(np.concatenate([getattr(p, f) for p in parts])
                             for f in ("node_exposure", "node_log")))


@dataclass(frozen=True)
class DropoutMixture:
    """Dropout rates per segment: classes (shape s_k, rate beta_k per turn) and each segment's mix.

    With ``shared`` False there is one class per segment (``weights`` the
    identity): the one-gamma-per-segment model.  ``u`` is the fitted
    vector (per class ln s, ln mean rate, then the shared model's logits)
    and ``covariance`` its covariance (None if the fit's curvature is not
    positive definite): ``at(u)`` rebuilds the model at another point, for
    the estimate's interval.
    """

    weights: np.ndarray     # (segments, K)
    shape: np.ndarray       # (K,)
    rate: np.ndarray        # (K,)
    shared: bool
    log_likelihood: float   # penalised, class-dependent part
    n: int
    u: np.ndarray
    covariance: np.ndarray | None

    @property
    def classes(self) -> int:
        return int(self.shape.size)

    @property
    def parameters(self) -> int:
        segments, classes = self.weights.shape
        return 2 * classes + (segments * (classes - 1) if self.shared else 0)

    @property
    def bic(self) -> float:
        """Bayesian information criterion (lower is better)."""
        return self.parameters * math.log(max(self.n, 1)) - 2.0 * self.log_likelihood

    def at(self, u: np.ndarray) -> "DropoutMixture":
        """The same model with its parameters at ``u``."""
        if self.shared:
            weights, shape, rate = _unpack(u, self.classes, self.weights.shape[0])
        else:
            weights, shape, rate = self.weights, np.exp(u[0::2]), np.exp(u[0::2] - u[1::2])
        return replace(self, weights=weights, shape=shape, rate=rate, u=np.asarray(u, dtype=float))


def _class_terms(data: DropoutData, s: float, beta: float, gradient: bool = False):
    """ln L per row for a Gamma(s, beta) of dropout (class-dependent part), and P(alive).

    Alive through now: beta^s (beta + B(T))^-s.  Died unseen at tau:
    s beta^s b(tau) (beta + B(tau))^-(s+1) times the class-free factors.
    With ``gradient``, also the slopes in s and beta per row.
    """
    n = data.size
    row = data.node_row
    lb = np.log(beta + data.exposure)
    lB = np.log(beta + data.node_exposure)
    alive = s * (math.log(beta) - lb)
    # Each node relative to the alive term.
    log_f = data.node_log + math.log(s) - lB + s * (lb[row] - lB)
    level = np.full(n, -np.inf)
    if log_f.size:
        # Nodes are grouped by row: one log-sum-exp per run of a row's nodes.
        starts, counts = data.starts, data.counts
        peak = np.maximum.reduceat(log_f, starts)
        summed = np.add.reduceat(np.exp(log_f - np.repeat(peak, counts)), starts)
        level[row[starts]] = peak + np.log(summed)
    unseen = np.logaddexp(0.0, level)
    p_alive = np.exp(-unseen)
    if not gradient:
        return alive + unseen, p_alive
    omega = np.exp(log_f - level[row]) * (1.0 - p_alive)[row]
    inv_b, inv_B = 1.0 / (beta + data.exposure), 1.0 / (beta + data.node_exposure)
    d_s = math.log(beta) - lb + np.bincount(row, omega * (1.0 / s + lb[row] - lB), minlength=n)
    d_beta = s / beta - s * inv_b + np.bincount(row, omega * (-inv_B + s * (inv_b[row] - inv_B)),
                                                minlength=n)
    return alive + unseen, p_alive, d_s, d_beta


def _unpack(u: np.ndarray, classes: int, segments: int):
    """(weights (segments, K), shapes, rates) from (ln s_k, ln mean_k) per class, then logits 2..K per segment.

    The mean rate s/beta rather than beta: the likelihood's ridge runs
    along s at a fixed mean, and a search along it is well scaled.
    """
    shape = np.exp(u[0:2 * classes:2])
    rate = shape / np.exp(u[1:2 * classes:2])
    logits = np.zeros((segments, classes))
    logits[:, 1:] = u[2 * classes:].reshape(segments, classes - 1)
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True), shape, rate


def _prior(shape: np.ndarray) -> tuple[float, np.ndarray]:
    """Log prior density of the shapes and its slope in ln s."""
    z = (np.log(shape) - math.log(SHAPE_PRIOR_MEDIAN)) / SHAPE_PRIOR_SD
    return -0.5 * float(np.sum(z * z)), -z / SHAPE_PRIOR_SD


def _objective(u: np.ndarray, data: DropoutData, classes: int, segments: int):
    """Minus the penalised log-likelihood per row and its gradient in ``u``."""
    weights, shape, rate = _unpack(u, classes, segments)
    n = max(data.size, 1)
    terms, slopes = [], []
    for k in range(classes):
        t, _, d_s, d_beta = _class_terms(data, shape[k], rate[k], gradient=True)
        terms.append(t)
        slopes.append((d_s, d_beta))
    with np.errstate(divide="ignore"):
        joint = np.log(weights[data.segment]) + np.column_stack(terms)
    top = joint.max(axis=1, keepdims=True)
    total = top[:, 0] + np.log(np.exp(joint - top).sum(axis=1))
    share = np.exp(joint - total[:, None])
    prior, prior_slope = _prior(shape)
    value = float(total.sum()) + prior
    grad = np.zeros(u.size)
    for k, (d_s, d_beta) in enumerate(slopes):
        # beta = s / mean: d/d ln s = s d_s + beta d_beta; d/d ln mean = -beta d_beta.
        grad[2 * k] = float(share[:, k] @ (shape[k] * d_s + rate[k] * d_beta)) + prior_slope[k]
        grad[2 * k + 1] = float(share[:, k] @ (-rate[k] * d_beta))
    if classes > 1:
        members = np.bincount(data.segment, minlength=segments)
        counted = np.stack([np.bincount(data.segment, share[:, k], minlength=segments)
                            for k in range(1, classes)], axis=1)
        grad[2 * classes:] = (counted - members[:, None] * weights[:, 1:]).ravel()
    if not (np.isfinite(value) and np.all(np.isfinite(grad))):
        return 1e100, np.zeros_like(u)
    return -value / n, -grad / n


def _fit_shared(data: DropoutData, segments: int, shape: np.ndarray, mean: np.ndarray,
                with_covariance: bool = True) -> DropoutMixture:
    classes = shape.size
    start = np.concatenate([np.column_stack([np.log(shape), np.log(mean)]).ravel(),
                            np.zeros(segments * (classes - 1))])
    result = optimize.minimize(_objective, start, args=(data, classes, segments), jac=True,
                               method="L-BFGS-B", bounds=[(-10.0, 10.0)] * start.size,
                               options={"ftol": 1e-9, "gtol": 1e-6, "maxiter": 200})
    weights, shape, rate = _unpack(result.x, classes, segments)
    covariance = None
    if with_covariance:
        covariance = _covariance(lambda u: _objective(u, data, classes, segments)[1] * max(data.size, 1),
                                 result.x)
    return DropoutMixture(weights, shape, rate, True, -float(result.fun) * max(data.size, 1),
                          data.size, result.x, covariance)


def _covariance(gradient, u: np.ndarray, step: float = 1e-4) -> np.ndarray | None:
    """Inverse of the curvature of minus the log-likelihood at its optimum ``u`` (central differences)."""
    return inverse_if_positive_definite(hessian_from_gradient(gradient, u, absolute_step=step))


def _fit_each(data: DropoutData, segments: int, shape: np.ndarray, rate: np.ndarray) -> DropoutMixture:
    """One gamma per segment, each refitted on the segment's rows (the Pareto/NBD's own model)."""
    u = np.column_stack([np.log(shape), np.log(shape / rate)]).astype(float).ravel()
    covariance = np.zeros((u.size, u.size))
    total = 0.0
    for c in range(segments):
        rows = np.flatnonzero(data.segment == c)
        if rows.size == 0:
            continue
        one = _fit_shared(_subset(data, rows), 1, np.exp(u[2 * c:2 * c + 1]), np.exp(u[2 * c + 1:2 * c + 2]))
        u[2 * c:2 * c + 2] = one.u
        total += one.log_likelihood
        if one.covariance is None or covariance is None:
            covariance = None
        else:
            covariance[2 * c:2 * c + 2, 2 * c:2 * c + 2] = one.covariance
    model = DropoutMixture(np.eye(segments), np.exp(u[0::2]), np.exp(u[0::2] - u[1::2]), False, total,
                           data.size, u, covariance)
    return model


def _subset(data: DropoutData, rows: np.ndarray) -> DropoutData:
    """The data of the rows ``rows`` (sorted), renumbered 0..len-1, in segment 0."""
    new = np.full(data.size, -1)
    new[rows] = np.arange(rows.size)
    on = new[data.node_row] >= 0
    return DropoutData(np.zeros(rows.size, dtype=np.int64), data.exposure[rows], new[data.node_row[on]],
                       data.node_exposure[on], data.node_log[on])


def fit(data: DropoutData, segments: int, shape: np.ndarray, rate: np.ndarray) -> DropoutMixture:
    """The dropout rates' model with the lowest BIC: one gamma per segment, or 2..K shared classes.

    Args:
        data: the class-free likelihood pieces of every segment's rows.
        segments: number of segments.
        shape, rate: (segments,) each segment's one-gamma Pareto/NBD fit (s, beta), the start.

    Returns:
        The chosen model.
    """
    shape, rate = np.asarray(shape, dtype=float), np.asarray(rate, dtype=float)
    best = _fit_each(data, segments, shape, rate)
    # Shared classes start spread over the range of the segments' mean rates,
    # each as narrow as the narrowest segment's gamma.
    means = best.shape / best.rate
    low, high = float(means.min()), float(means.max())
    low, high = min(low, high / 2.0), max(high, low * 2.0)
    for classes in range(2, MAX_CLASSES + 1):
        start_mean = np.geomspace(low, high, classes)
        start_shape = np.full(classes, max(float(best.shape.max()), 1.0))
        candidate = _fit_shared(data, segments, start_shape, start_mean, with_covariance=False)
        counts = np.bincount(data.segment, minlength=segments)
        overall = counts @ candidate.weights / max(counts.sum(), 1)
        if overall.min() < MIN_WEIGHT:
            break
        if candidate.bic < best.bic:
            best = candidate
    if best.shared:
        covariance = _covariance(
            lambda u: _objective(u, data, best.classes, segments)[1] * max(data.size, 1), best.u)
        best = replace(best, covariance=covariance)
    return best


def posterior(data: DropoutData, mixture: DropoutMixture, function, probs: np.ndarray):
    """P(alive), E[f(mu) 1{alive}] and E[f(mu)^2 1{alive}] per row, given each history.

    Given class k and alive, mu ~ Gamma(s_k, beta_k + B(T)); ``function``
    is averaged over the equal-probability quantiles ``probs`` of each
    class's posterior, weighted by P(class k, alive | history).
    """
    n = data.size
    # Only the classes these rows' segments hold (one, for one gamma per segment).
    present = np.flatnonzero(mixture.weights[np.unique(data.segment)].max(axis=0) > 0)
    joint, alive = [], []
    for k in present:
        t, p = _class_terms(data, mixture.shape[k], mixture.rate[k])
        with np.errstate(divide="ignore"):
            joint.append(np.log(mixture.weights[data.segment, k]) + t)
        alive.append(p)
    joint = np.column_stack(joint)
    joint = np.exp(joint - joint.max(axis=1, keepdims=True))
    share = joint / joint.sum(axis=1, keepdims=True) * np.column_stack(alive)
    first, second = np.zeros(n), np.zeros(n)
    for j, k in enumerate(present):
        mu = special.gammaincinv(mixture.shape[k], probs)[None, :] / (mixture.rate[k] + data.exposure)[:, None]
        f = function(mu)
        first += share[:, j] * f.mean(axis=1)
        second += share[:, j] * (f * f).mean(axis=1)
    return share.sum(axis=1), first, second
