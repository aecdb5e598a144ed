"""Referral counts with heterogeneity (NBD) and each customer's predicted referral value (CRV).

The model (docs/model.md section 2.6, the lab's view of it): customer i
refers friends as a Poisson process of rate rho_i per turn while on the
books, and rho varies across customers as Gamma(r, alpha) (shape, rate).
Over an exposure of t_i turns the count x_i is negative binomial
(Poisson–gamma, as the NBD of purchases in Ehrenberg's model):

    P(x | t) = Gamma(r + x) / (Gamma(r) x!) (alpha / (alpha + t))^r (t / (alpha + t))^x

and a customer's rate given its record is Gamma(r + x, alpha + t): its
posterior mean (r + x) / (alpha + t) shrinks its own rate toward the
base's r / alpha, the more the shorter it has been watched.

Exposure (``exposure_from_observation``): a referral made in turn k shows
as a friend joining in turn k + 1, so the referrals seen at the start of
turn T are those made from the acquisition turn to T - 2: age - 1 turns;
a member's stop at its cancellation.  In a business where leaving
is never seen the exposure is the time since acquisition, so rho is the
rate per turn on the books (a customer who has quietly left counts as one
who refers no one), which is what the CRV multiplies by the expected
discounted turns still on the books.

CRV (``predicted_crv``): expected referrals per turn x the expected
discounted turns still a customer (from the lab's CLV model) x the value
of one friend: the value (profit so far + predicted CLV) of the friends
this customer has brought, shrunk toward the mean over all referred
customers by one friend's worth of evidence.  A friend's value counts its
own friends in turn: the mean referred customer is worth W / (1 - c), with
c the referred customers' mean expected discounted referrals (the chain).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..limits import DERIVED_LIMITS
from ..observation import STILL_ACTIVE, Observation
from ..unique import rows_of_ids, unique_rows
from .fitting import DataError, FitResult, maximise_likelihood

PARAM_NAMES = ("r", "alpha")
#: Most discounted friends each referred customer is taken to bring: a scenario's true
#: chain is at most this (sim/limits.py), so an early, noisy estimate cannot exceed it.
MAX_CHAIN = DERIVED_LIMITS["referral chain"].high


def _validate(referrals, exposure, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(referrals, dtype=float)
    t = np.asarray(exposure, dtype=float)
    if x.ndim != 1 or t.shape != x.shape:
        raise DataError(f"referrals and exposure must be 1-D of one length, got shapes "
                        f"{x.shape} and {t.shape}")
    if not (np.all(np.isfinite(x)) and np.all(x >= 0) and np.all(x == np.round(x))):
        raise DataError("referrals must be whole numbers >= 0")
    if not (np.all(np.isfinite(t)) and np.all(t >= 0)):
        raise DataError("exposure must be finite turns >= 0")
    w = np.ones(x.size) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise DataError("weights must be finite counts >= 0, one per customer")
    used = t > 0   # a customer watched for no time says nothing
    return x[used], t[used], w[used]


def _terms(params: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    r, alpha = params
    return (special.gammaln(r + x) - special.gammaln(r) - special.gammaln(x + 1.0)
            + r * np.log(alpha) - (r + x) * np.log(alpha + t) + x * np.log(t))


def log_likelihood(params: Mapping[str, float], referrals, exposure, weights=None) -> float:
    """Total NBD log-likelihood of referral counts over exposures (turns)."""
    x, t, w = _validate(referrals, exposure, weights)
    return float(w @ _terms(np.array([params["r"], params["alpha"]]), x, t))


def fit(referrals, exposure, weights=None) -> FitResult:
    """Maximum-likelihood NBD fit, standard errors from the Hessian.

    Args:
        referrals: friends each customer brought in its exposure (whole numbers).
        exposure: turns each customer was watched (customers with 0 are skipped).
        weights: optional counts of identical customers.

    Returns:
        FitResult with params r (shape) and alpha (rate, turns): the mean
        referral rate is r / alpha per turn.

    Raises:
        DataError: bad input, or no referral at all (nothing to fit).
    """
    x, t, w = _validate(referrals, exposure, weights)
    if not (w @ x) > 0:
        raise DataError("no referrals to fit: nobody has brought a friend yet")
    # Counts and exposures (whole turns in a game) repeat: one row per distinct pair,
    # weighted, makes a fit over a million customers a fit over a few hundred rows.
    pairs, index = unique_rows(np.column_stack([x, t]))
    w = np.bincount(index, weights=w, minlength=len(pairs))
    x, t = pairs[:, 0].copy(), pairs[:, 1].copy()

    def total_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha = theta
        value = float(w @ _terms(theta, x, t))
        d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha) - np.log(alpha + t)
        d_alpha = r / alpha - (r + x) / (alpha + t)
        return value, np.array([w @ d_r, w @ d_alpha])

    mean_rate = float(w @ x) / float(w @ t)
    return maximise_likelihood(lambda theta: total_and_gradient(theta)[0], PARAM_NAMES,
                               (1.0, 1.0 / mean_rate), n=int(round(w.sum())),
                               gradient=total_and_gradient)


def expected_rate(result: FitResult | Mapping[str, float], referrals, exposure) -> np.ndarray:
    """Each customer's posterior mean referral rate (r + x) / (alpha + t), per turn."""
    params = result.params if isinstance(result, FitResult) else result
    x = np.asarray(referrals, dtype=float)
    t = np.asarray(exposure, dtype=float)
    return (params["r"] + x) / (params["alpha"] + t)


def exposure_from_observation(observation: Observation) -> np.ndarray:
    """Turns each customer's referrals so far cover (see the module docstring)."""
    last = observation.turn - 2.0        # the latest turn whose referrals have joined
    end = last
    if observation.scenario.contractual:
        cancelled = observation.cancel_turn != STILL_ACTIVE
        end = np.where(cancelled, np.minimum(observation.cancel_turn, last), last)
    return np.maximum(end - observation.acquisition_turn + 1.0, 0.0)


def referral_counts(observation: Observation) -> np.ndarray:
    """Friends each customer has brought so far (0 everywhere without referrals)."""
    if observation.referrals is None:
        return np.zeros(observation.n_customers)
    return np.asarray(observation.referrals, dtype=float)


def fit_observation(observation: Observation) -> FitResult:
    """The NBD fitted to the game's customers.

    Raises:
        DataError: no referrals in this game (or none yet).
    """
    return fit(referral_counts(observation), exposure_from_observation(observation))


def friend_values(observation: Observation, customer_value: np.ndarray) -> np.ndarray:
    """Value of one friend each customer brings, dollars: its friends' own, shrunk to the mean.

    Args:
        observation: the game's observation (with ``referred_by``).
        customer_value: each customer's value, dollars (profit so far +
            predicted CLV, say).

    Returns:
        (sum of its friends' values + the mean over all referred
        customers) / (its friends + 1), per customer; 0 if nobody was referred.
    """
    n = observation.n_customers
    if observation.referred_by is None or n == 0:
        return np.zeros(n)
    by = np.asarray(observation.referred_by)
    referred = np.flatnonzero(by >= 0)
    if referred.size == 0:
        return np.zeros(n)
    referrer_row = rows_of_ids(observation.customer_id, by[referred])
    value = np.asarray(customer_value, dtype=float)
    mean = float(value[referred].mean())
    total = np.bincount(referrer_row, weights=value[referred], minlength=n)
    count = np.bincount(referrer_row, minlength=n)
    return (total + mean) / (count + 1.0)


def chain_friend_value(observation: Observation, worth: np.ndarray, reach: np.ndarray) -> float:
    """Mean value of a referred customer counting the friends it brings in turn, dollars.

    A friend is worth its own value and, through the friends it refers,
    theirs: F = W + c F over the referred customers, so F = W / (1 - c),
    with W their mean value (profit so far + predicted CLV) and c their
    mean expected discounted referrals (the chain's ratio, at most
    ``MAX_CHAIN``, as the scenario limits keep the true chain finite).

    Args:
        observation: the game's observation (with ``referred_by``).
        worth: each customer's value without referrals, dollars.
        reach: each customer's expected discounted referrals from now on.

    Returns:
        0 if nobody was referred yet.
    """
    if observation.referred_by is None:
        return 0.0
    referred = np.asarray(observation.referred_by) >= 0
    if not referred.any():
        return 0.0
    chain = min(float(np.mean(reach[referred])), MAX_CHAIN)
    return float(np.mean(worth[referred])) / (1.0 - chain)


def predicted_crv(rate: np.ndarray, discounted_turns: np.ndarray,
                  friend_value: np.ndarray) -> np.ndarray:
    """Predicted referral value, dollars: rate x discounted turns on the books x friend value.

    Args:
        rate: expected referrals per turn (``expected_rate``).
        discounted_turns: expected discounted turns still a customer (with
            P(alive) in it), from the lab's CLV model.
        friend_value: value of one friend it brings (``friend_values``).
    """
    return np.asarray(rate) * np.asarray(discounted_turns) * np.asarray(friend_value)


@dataclass(frozen=True)
class ReferralForecast:
    """What the lab predicts of each customer's referrals, rows aligned with the observation.

    Attributes:
        rate: expected referrals per turn alive (the NBD's posterior mean).
        turns: expected discounted turns still a customer (P(alive) in it).
        friend: value of one friend it brings, dollars when the friend joins
            (its friends' profit so far + predicted CLV + their own friends,
            shrunk toward the mean referred customer).
    """

    rate: np.ndarray
    turns: np.ndarray
    friend: np.ndarray

    @property
    def crv(self) -> np.ndarray:
        """Predicted referral value from now on, dollars."""
        return predicted_crv(self.rate, self.turns, self.friend)


def forecast(observation: Observation, value, result: FitResult | None = None) -> ReferralForecast | None:
    """Each customer's expected referrals, discounted turns and friend value, or None.

    Args:
        observation: the game's observation.
        value: the lab's ``CustomerValue`` for the same rows (its
            ``predicted_clv``, ``discounted_purchases``, ``purchase_rate``).
        result: an NBD fit to reuse; fitted to ``observation`` if None.

    Returns:
        None without referrals or when nobody has referred anyone yet.
    """
    if observation.referrals is None:
        return None
    try:
        result = result or fit_observation(observation)
    except DataError:
        return None
    counts = referral_counts(observation)
    rate = expected_rate(result, counts, exposure_from_observation(observation))
    turns = np.asarray(value.discounted_purchases, dtype=float)
    if not observation.scenario.contractual:
        # DERT is purchases: per purchase per turn gives the discounted turns on the books.
        per_turn = np.asarray(value.purchase_rate, dtype=float)
        turns = np.divide(turns, per_turn, out=np.zeros(turns.size), where=per_turn > 0)
    reach = rate * turns
    worth = np.asarray(observation.columns["profit"]) + np.asarray(value.predicted_clv)
    worth = worth + reach * chain_friend_value(observation, worth, reach)
    return ReferralForecast(rate, turns, friend_values(observation, worth))


def crv_columns(observation: Observation, value, result: FitResult | None = None) -> dict:
    """Score columns ``expected_referrals`` (per turn), ``predicted_crv`` and ``predicted_clv_crv``.

    ``predicted_clv_crv`` is predicted CLV + predicted CRV, dollars: what a
    customer is worth counting whom it brings (the customer-centric
    reference's worth in a game with referrals).  Arguments as
    :func:`forecast`.

    Returns:
        {} without referrals or when nobody has referred anyone yet.
    """
    found = forecast(observation, value, result)
    if found is None:
        return {}
    crv = found.crv
    clv = np.asarray(value.predicted_clv, dtype=float)
    return {"expected_referrals": found.rate, "predicted_crv": crv, "predicted_clv_crv": clv + crv}


def value_grid(observation: Observation, value):
    """The lab's CLV x CRV matrix of the active customers (``reports.clv_crv_grid``), or None.

    None without referrals or before anyone has referred anyone.
    """
    from .reports import clv_crv_grid

    columns = crv_columns(observation, value)
    active = np.asarray(observation.active, dtype=bool)
    if not columns or not active.any():
        return None
    return clv_crv_grid(np.asarray(value.predicted_clv)[active], columns["predicted_crv"][active])
