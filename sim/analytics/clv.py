"""Predicted customer lifetime value from what the firm has seen.

predicted CLV = expected discounted future purchases × expected spend per
purchase × margin per dollar of revenue (Fader, Hardie & Lee 2005, "RFM and
CLV"). Two settings:

* non-contractual (the shops): Pareto/NBD for purchases, whose discounted
  expected residual transactions (DERT) are the first factor, and
  Gamma–Gamma for spend;
* contractual (subscriptions): a latent-class retention model
  (``sim.analytics.retention``: a few classes of members with their own
  churn, each acquisition channel its own mix of them) gives each member's
  discounted expected residual lifetime; value per period is the fee plus
  the member's add-on spend (Fader & Hardie 2010).  A single shifted-beta-
  geometric fitted to all cohorts gives every member of the same tenure the
  same future, and with a few periods of history it overstates a young
  base's value several times over (its Beta tail near zero churn).

Margin per dollar is the scenario's gross margin less each customer's own
cost-to-serve share, shrunk toward the whole base's share by a few
occasions' worth of evidence (``margin_share``).

Besides the CLV the predictions carry what a decision about service needs
(``sim.analytics.service_lift``): each customer's expected purchases per
turn while still a customer and a posterior of the per-turn survival.

The fits use at most ``max_fit_customers`` customers, a fixed stride through
the base (deterministic, no random draw), so a bot's cost per turn stays
bounded at a million customers; predictions cover everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scipy import special

from ..observation import Observation
from ..unique import unique_inverse
from . import gamma_gamma, pareto_nbd, retention
from .fitting import DataError, FitResult
from .lab_models import GAMMA_GAMMA, PARETO_NBD, RETENTION
from .service_lift import SurvivalPosterior, neutral_annuity
from .transactions import CustomerSummary, summarise_observation

__all__ = ["CustomerValue", "LAB_COLUMNS", "REFERRAL_COLUMNS", "ALL_LAB_COLUMNS", "lab_columns",
           "predict_clv", "predicted_clv_columns", "margin_share",
           "noncontractual_clv", "fit_sample"]

#: Customers used to fit the models, at most (predictions cover all).
MAX_FIT_CUSTOMERS = 600
#: Nodes of a survival posterior (mid-quantiles of the dropout rate's Gamma).
_SURVIVAL_NODES = 24
# Keys of CustomerValue.fits: the registry's names for the models fitted
# (sim.analytics.registry), so the lab screen can label each fit.
_PURCHASES, _SPEND, _MEMBERS = PARETO_NBD.name, GAMMA_GAMMA.name, RETENTION.name


#: Score columns the lab provides to tier rules (``CustomerValue.columns``).
LAB_COLUMNS = ("p_alive", "expected_purchases", "predicted_clv", "horizon_value")
#: The lab's score columns in a game with referrals as well
#: (:func:`sim.analytics.referral_nbd.crv_columns`).
REFERRAL_COLUMNS = ("predicted_crv", "expected_referrals", "predicted_clv_crv")
#: Every column the lab can provide, in any game.
ALL_LAB_COLUMNS = LAB_COLUMNS + REFERRAL_COLUMNS


def lab_columns(has_referrals: bool) -> tuple[str, ...]:
    """The lab's score columns in a game with (or without) referrals, in menu order."""
    return ALL_LAB_COLUMNS if has_referrals else LAB_COLUMNS


@dataclass(frozen=True)
class CustomerValue:
    """Per-customer predictions, rows aligned with the observation's customers.

    Attributes:
        p_alive: Probability the customer is still a customer (1 or 0 for
            members of a contractual business, whose cancellations are seen).
        expected_purchases: Expected purchases in the next ``horizon`` turns.
        expected_spend: Expected dollars per future purchase.
        margin_share: Gross margin less cost-to-serve share, per revenue dollar.
        discounted_purchases: Expected discounted future purchases (DERT),
            or for members, expected discounted paying turns.
        predicted_clv: Expected discounted future contribution, dollars at
            the start of the turn (service and acquisition spend not counted).
        horizon_value: Expected contribution in the next ``horizon`` turns,
            undiscounted, dollars: what serving the customer has to beat.
        fits: The model fits used, by model name (a name of
            :mod:`sim.analytics.registry`).
        purchase_rate: Expected purchases per turn while still a customer
            (for members: add-on purchases).
        survival: Posterior of each customer's per-turn survival
            probability if still a customer (neutral policy).
    """

    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray
    margin_share: np.ndarray
    discounted_purchases: np.ndarray
    predicted_clv: np.ndarray
    horizon_value: np.ndarray
    fits: dict[str, FitResult]
    purchase_rate: np.ndarray | None = None
    survival: SurvivalPosterior | None = None

    def columns(self) -> dict[str, np.ndarray]:
        """Score columns for tier rules: p_alive, expected_purchases, predicted_clv, horizon_value."""
        return {"p_alive": self.p_alive, "expected_purchases": self.expected_purchases,
                "predicted_clv": self.predicted_clv, "horizon_value": self.horizon_value}


def fit_sample(size: int, limit: int | None = None) -> np.ndarray:
    """Row indices of an evenly strided subsample of at most ``limit`` rows."""
    limit = limit or MAX_FIT_CUSTOMERS
    if size <= limit:
        return np.arange(size)
    return np.linspace(0, size - 1, limit).round().astype(np.int64)


def noncontractual_clv(summary: CustomerSummary, margin: np.ndarray | float,
                       discount_rate: float, horizon: float = 1.0,
                       transactions: FitResult | None = None,
                       spend: FitResult | None = None,
                       max_fit_customers: int | None = None,
                       warm_start: FitResult | None = None) -> CustomerValue:
    """Pareto/NBD × Gamma–Gamma CLV for any customer base.

    Args:
        summary: Per-customer frequency, recency, T and monetary value.
        margin: Contribution per revenue dollar (scalar or per customer).
        discount_rate: Simple discount rate per time unit of T (> 0).
        horizon: Window for ``expected_purchases``, time units of T.
        transactions: A Pareto/NBD fit to reuse instead of fitting.
        spend: A Gamma–Gamma fit to reuse instead of fitting.
        max_fit_customers: Fit on at most this many customers (default
            ``MAX_FIT_CUSTOMERS``).
        warm_start: A Pareto/NBD fit to start the search from (e.g. last
            turn's, when the base has changed little); ignored when
            ``transactions`` is given.

    Returns:
        The predictions; ``fits`` holds "pareto_nbd" and "gamma_gamma".
    """
    x, t_x, T = summary.frequency, summary.recency, summary.T
    rows = fit_sample(x.size, max_fit_customers)
    if transactions is None:
        start = warm_start.params if warm_start is not None else None
        transactions = pareto_nbd.fit(x[rows], t_x[rows], T[rows], start=start)
    if spend is None:
        spend = gamma_gamma.fit(x[rows], summary.monetary_value[rows])
    expected_spend = gamma_gamma.expected_spend(spend, x, summary.monetary_value)
    # P(alive) is the costly part (an integral per customer): computed once.
    alive = pareto_nbd.p_alive(transactions, x, t_x, T)
    dert = alive * pareto_nbd.dert_if_alive(transactions, x, T, discount_rate)
    margin = np.broadcast_to(np.asarray(margin, dtype=float), x.shape)
    expected = alive * pareto_nbd.expected_purchases_if_alive(transactions, horizon, x, T)
    r, alpha, s, beta = (transactions.params[k] for k in pareto_nbd.PARAM_NAMES)
    return CustomerValue(
        p_alive=alive,
        expected_purchases=expected,
        expected_spend=expected_spend,
        margin_share=margin,
        discounted_purchases=dert,
        predicted_clv=dert * expected_spend * margin,
        horizon_value=expected * expected_spend * margin,
        fits={_PURCHASES: transactions, _SPEND: spend},
        purchase_rate=(r + x) / (alpha + T),
        survival=dropout_posterior(s, beta, T),
    )


def dropout_posterior(s: float, beta: float, T: np.ndarray) -> SurvivalPosterior:
    """Pareto/NBD survival per unit of time if alive: μ ~ Gamma(s, β + T), q = e^(−μ).

    Given alive, the dropout rate's posterior depends on the age T alone,
    so customers of one age share it; nodes are the Gamma's mid-quantiles.
    """
    ages, group = unique_inverse(np.asarray(T, dtype=float).reshape(-1))
    u = (np.arange(_SURVIVAL_NODES) + 0.5) / _SURVIVAL_NODES
    mu = special.gammaincinv(s, u)[None, :] / (beta + ages[:, None])
    nodes = np.exp(-mu)
    weights = np.full(nodes.shape, 1.0 / _SURVIVAL_NODES)
    return SurvivalPosterior(group.reshape(-1), nodes, weights)


def margin_share(observation: Observation, prior_tickets: float = 2.0) -> np.ndarray:
    """Each customer's contribution per revenue dollar: gross margin − estimated cost share.

    Cost to serve is random per occasion (a purchase, or a member's monthly
    box: returned or needing support), so a customer's observed share, total
    cost to serve ÷ revenue, is a noisy estimate that sharpens with
    occasions.  It is shrunk toward the whole base's share: (cost + w ·
    pooled share) ÷ (revenue + w), with w worth ``prior_tickets`` average
    occasions' revenue (a customer with one purchase is mostly the base
    average; one with twenty mostly itself).
    """
    s = observation.scenario
    revenue = observation.total_spend + observation.fees_paid
    cost = observation.total_cost_to_serve
    total_revenue = float(revenue.sum())
    pooled = float(cost.sum()) / total_revenue if total_revenue > 0 else 0.0
    occasions = float(observation.total_purchases.sum())
    if s.contractual and s.membership_fee > 0:
        occasions += float(observation.fees_paid.sum()) / s.membership_fee
    ticket = total_revenue / occasions if occasions > 0 else 0.0
    w = prior_tickets * ticket
    share = np.divide(cost + w * pooled, revenue + w, out=np.full(revenue.size, pooled),
                      where=(revenue + w) > 0)
    return s.gross_margin - share


def predict_clv(observation: Observation, horizon: float = 1.0,
                fits: dict[str, FitResult] | None = None,
                max_fit_customers: int | None = None,
                warm_start: dict[str, FitResult] | None = None) -> CustomerValue:
    """Predicted CLV of every customer the firm has, from observable data only.

    Args:
        observation: The game's observation (at least one turn played).
        horizon: Window for ``expected_purchases``, turns.
        fits: Fits to reuse (as returned in ``CustomerValue.fits``), e.g.
            to refit only every few turns; None fits afresh.
        max_fit_customers: Fit on at most this many customers (default
            ``MAX_FIT_CUSTOMERS``).
        warm_start: Earlier fits (``CustomerValue.fits``) to start the
            transaction model's search from: a refit that costs a few
            steps when the base has changed little since.

    Returns:
        Predictions per customer row, dollars at the start of the turn.

    Raises:
        DataError: Too little history to fit (no repeat purchases, no renewal).
    """
    if observation.n_customers == 0:
        raise DataError("no customers yet: nothing to predict")
    fits = dict(fits or {})
    s = observation.scenario
    if not s.contractual:
        return noncontractual_clv(summarise_observation(observation), margin_share(observation),
                                  s.discount_rate, horizon, fits.get(_PURCHASES),
                                  fits.get(_SPEND), max_fit_customers,
                                  (warm_start or {}).get(_PURCHASES))
    return _contractual_clv(observation, horizon, fits.get(_MEMBERS),
                            (warm_start or {}).get(_MEMBERS))


def _contractual_clv(observation: Observation, horizon: float,
                     model: FitResult | None,
                     warm_start: FitResult | None = None) -> CustomerValue:
    s = observation.scenario
    active = observation.active.astype(bool)
    if model is None:
        model = retention.fit_observation(observation, start=warm_start)
    paid, _ = retention.tenure(observation)
    # Members of one channel and tenure share a posterior: computed once per pair.
    channel = observation.channel.astype(np.int64)
    pair, group = unique_inverse(channel * (paid.max() + 1) + paid)
    stay = 1.0 - model.churn
    weights = retention.class_posterior(model, pair // (paid.max() + 1), pair % (paid.max() + 1))
    survival = SurvivalPosterior(group.reshape(-1), np.broadcast_to(stay, weights.shape), weights)
    # This turn's payment (certain for a member) and each later one if she renews,
    # all discounted to the turn's end as the scorer does: A(q) = v / (1 − v·q).
    paying_turns = survival.expect(neutral_annuity(survival.nodes, s.discount_rate, True))[group]
    turns_in_horizon = survival.expect(sum(survival.nodes ** j
                                           for j in range(int(np.ceil(horizon)))))[group]

    member_turns = _member_turns(observation)
    purchases = observation.total_purchases - 1.0   # first box aside
    spend = observation.total_spend - observation.first_spend
    # Shrink each member's add-on habits towards the base's by one member-turn.
    pooled_rate = purchases.sum() / max(member_turns.sum(), 1)
    pooled_spend = spend.sum() / max(member_turns.sum(), 1)
    purchase_rate = (purchases + pooled_rate) / (member_turns + 1.0)
    spend_per_turn = (spend + pooled_spend) / (member_turns + 1.0)
    margin = margin_share(observation)
    value_per_turn = (s.membership_fee + spend_per_turn) * margin
    expected_spend = np.divide(spend_per_turn, purchase_rate, out=np.zeros(active.size),
                               where=purchase_rate > 0)
    return CustomerValue(
        p_alive=active.astype(float),
        expected_purchases=np.where(active, purchase_rate * turns_in_horizon, 0.0),
        expected_spend=expected_spend,
        margin_share=margin,
        discounted_purchases=np.where(active, paying_turns, 0.0),
        predicted_clv=np.where(active, paying_turns * value_per_turn, 0.0),
        horizon_value=np.where(active, turns_in_horizon * value_per_turn, 0.0),
        fits={_MEMBERS: model},
        purchase_rate=purchase_rate,
        survival=survival,
    )


def _member_turns(observation: Observation) -> np.ndarray:
    """Turns each customer has been a paying member: ``membership_matrix().sum(axis=1)``.

    The observed turns are consecutive, so the count is the length of
    [acquisition, cancellation] within them, without the (rows, turns) matrix.
    """
    turns = np.asarray(observation.turn_columns)
    if turns.size == 0 or not np.array_equal(turns, np.arange(turns[0], turns[0] + turns.size)):
        return observation.membership_matrix().sum(axis=1)
    first = np.maximum(observation.acquisition_turn.astype(np.int64), int(turns[0]))
    last = np.minimum(observation.cancel_turn.astype(np.int64), int(turns[-1]))
    return np.maximum(last - first + 1, 0)


def cohort_survivors(observation: Observation) -> list[np.ndarray]:
    """Members of each acquisition cohort still subscribed after 0, 1, 2... renewals.

    A member cancels at the end of turn ``cancel_turn``; one who joined in
    turn a has renewed j times once turn a + j − 1 has ended, so she counts
    at j while cancel_turn ≥ a + j. Cohorts are observed up to the last
    completed turn.
    """
    acquired = observation.acquisition_turn.astype(np.int64)
    tenure = observation.cancel_turn.astype(np.int64) - acquired   # renewals survived, capped below
    cohorts = []
    for turn in np.unique(acquired):
        observed = observation.turn - turn            # renewals seen so far
        kept = np.minimum(tenure[acquired == turn], observed)
        # survivors[j] = members with at least j renewals = reverse cumulative count.
        counts = np.bincount(kept, minlength=observed + 1)
        cohorts.append(counts[::-1].cumsum()[::-1])
    return cohorts


def predicted_clv_columns(observation: Observation, horizon: float = 1.0) -> dict[str, np.ndarray]:
    """``p_alive``, ``expected_purchases`` and ``predicted_clv`` for tier rules."""
    return predict_clv(observation, horizon).columns()
