"""The customer-centric reference strategy: observable data only.

Service first, then acquisition with what is left of the one marketing
budget.  Acquisition: estimate what a customer from each channel is worth
from the channel's past cohorts (their observed profit in the first turns,
with a geometric tail from the cohort's observed repeat-buying retention),
scale it by the share of the channel's response curve still delivering
(customers brought so far against the public curve's promise, the
pool's drain allowed for: the pool saturates) and buy where the next
dollar returns the most, while it returns at least a dollar.  Service
(at most half the budget): tiers by predicted
customer lifetime value (``sim.analytics.clv``: Pareto/NBD and Gamma–Gamma
in the shops, latent-class retention for members) — turn away customers whose
predicted value is negative (they cost more to serve than they bring), give real service
(twice the half-saturation spend) to the customers with the highest
predicted value whose next turn's expected contribution covers that spend,
as many as the budget pays for, and nothing to the rest.  Should the models
have too little history to fit, RFM-style tiers on observed profit stand in.
In a game with referrals a customer's predicted value is its CLV plus its
predicted referral value (``sim.analytics.referral_nbd``: CRV), for turning
away and for valuing each channel's customers; elsewhere nothing changes.
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass
from typing import Callable

from ..analytics import referral_nbd
from ..analytics.clv import CustomerValue, predict_clv
from ..analytics.fitting import DataError
from ..analytics.response_test import ResponseTest
from ..analytics.service_lift import LEVELS, ServiceOptions, service_options
from ..response_curve import hill_response
from ..decisions import DISENGAGE, Decision, Tier, assign_tiers, evaluate_rule
from ..engine import Truth
from ..observation import Observation
from .base import BaseStrategy, even_acquisition, greedy_acquisition, split_marketing

#: Turns of cohort history used to value a channel's customers.
_HISTORY_TURNS = 4
#: Most of the marketing budget the reference spends on service.
_SERVICE_SHARE = 0.5
#: Fewest customers a channel's recent cohorts need to be valued on their own.
_MIN_COHORT = 30
#: Weight of the newest channel-value estimate in the running average.
_SMOOTHING = 0.4
#: Per-turn retention assumed at most, so a short history never implies immortality.
_MAX_RETENTION = 0.95
#: Fewest customers per channel served or held out each turn as a test of their response,
#: and at most this share of the channel's customers.
_PROBE = 60
_PROBE_SHARE = 0.03
#: Index in ``LEVELS`` of a probe's spend (1.5 half-saturation spends: g near 3/4 of its most).
_PROBE_LEVEL = LEVELS.index(1.5)


@dataclass(frozen=True)
class _ServicePlan:
    """What service is worth per customer this turn (before the budget is split)."""

    options: ServiceOptions
    turn_away: np.ndarray
    net: np.ndarray          # one-turn gain per service dollar; -inf where not worth serving


def _affordable(net: np.ndarray, cost: np.ndarray, budget: float) -> np.ndarray:
    """The best candidates by gain per dollar whose spends fit in ``budget``."""
    order = np.argsort(-net, kind="stable")
    order = order[net[order] > 0]
    take = order[np.cumsum(cost[order]) <= budget * (1 - 1e-9)]
    chosen = np.zeros(net.size, dtype=bool)
    chosen[take] = True
    return chosen


def channel_values(observation: Observation, cache: dict | None = None) -> np.ndarray | None:
    """Estimated value of one new customer from each channel, dollars (None if no history).

    Uses each mature customer's first ``h`` turns (h = up to four): profit
    per turn of the channel's cohorts, plus a geometric tail at the
    retention seen between the last two of those turns.

    Args:
        observation: the game's observation.
        cache: a dict kept for one game (empty at its start): a mature
            cohort's sums, which later turns cannot change, are kept there
            and added up again in the same order (the same bits).
    """
    s = observation.scenario
    if observation.n_customers == 0:
        return None
    acquired = observation.acquisition_turn
    h = min(_HISTORY_TURNS, int(observation.turn - acquired.min()))
    if h < 2:
        return None
    # Referred customers are a segment of their own (one past the paid channels).
    n_channels = len(s.customer_channel_names)
    # Per channel and turn of age: summed profit, and customers still current.
    per_turn = np.zeros(n_channels * h)
    active = np.zeros(n_channels * h)
    cohort = np.zeros(n_channels)
    # Rows are in acquisition order, so each mature cohort is one block of
    # rows whose first h turns are one block of columns: views, no gathers.
    first_turn = int(observation.turn_columns[0])
    if cache is not None:
        if observation.turn < cache.get("turn", -np.inf):
            cache.clear()        # a new game: nothing kept applies
        cache["turn"] = observation.turn
    for turn in range(int(acquired.min()), observation.turn - h + 1):
        start, stop = np.searchsorted(acquired, [turn, turn + 1])
        if start == stop:
            continue
        # The cohort's first h turns are past: its sums never change (a member who
        # cancels later was current in all of them), so they are worked out once.
        # Its first and last customer ids tell one game's cohort from another's.
        key = (turn, h, int(start), int(stop), first_turn,
               int(observation.customer_id[start]), int(observation.customer_id[stop - 1]))
        sums = cache.get(key) if cache is not None else None
        if sums is None:
            sums = _cohort_sums(observation, slice(start, stop),
                                slice(turn - first_turn, turn - first_turn + h), h, n_channels)
            if cache is not None:
                cache[key] = sums
        per_turn += sums[0]
        active += sums[1]
        cohort += sums[2]
    per_turn, active = per_turn.reshape(n_channels, h), active.reshape(n_channels, h)
    per_turn = np.divide(per_turn, cohort[:, None], out=np.zeros_like(per_turn),
                         where=cohort[:, None] > 0)
    retention = np.divide(active[:, -1], active[:, -2], out=np.zeros(n_channels),
                          where=active[:, -2] > 0)
    retention = np.minimum(retention, _MAX_RETENTION)
    v = 1.0 / (1.0 + s.discount_rate)
    head = per_turn @ v ** np.arange(1, h + 1)
    tail = per_turn[:, -1] * retention * v / (1.0 - retention * v) * v ** h
    return (head + tail)[: len(s.channels)]


def _cohort_sums(observation: Observation, rows: slice, cols: slice, h: int,
                 n_channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One cohort's profit and customers still current per (channel, turn of age), and its size."""
    s = observation.scenario
    revenue = observation.spend[rows, cols]
    if s.contractual:
        # Who is still a customer: members in a contractual business, buyers otherwise.
        current = observation.turn_columns[cols] <= observation.cancel_turn[rows, None]
        revenue = revenue + s.membership_fee * current
    else:
        current = observation.purchases[rows, cols] > 0
    profit = s.gross_margin * revenue - observation.cost_to_serve[rows, cols]
    channel = observation.channel[rows].astype(np.int64)
    cell = (channel[:, None] * h + np.arange(h)).ravel()
    return (np.bincount(cell, profit.ravel(), n_channels * h),
            np.bincount(cell, current.ravel(), n_channels * h),
            np.bincount(channel, minlength=n_channels))


def channel_yield(scenario, acquired: list[dict[str, int]], spend: list[dict[str, float]],
                  pool_left: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Share of each channel's response curve still delivering now (the pool saturates).

    The public response curve promises ceiling x (1 - exp(-k A)) customers
    for A dollars in a fresh market; the customers a channel actually
    brought against what it promised estimates the share of its reach
    left.  One turn's count is Poisson noise of +-10% at a hundred
    customers, and the greedy split buys less where the yield looks low,
    so one turn's ratio (clipped at 1) made the reference buy too little
    and swing between turns.  So every turn so far (warm-up included) is
    pooled; the reach drains with the pool, so each turn's promise is
    scaled by the share of the prospect pool left then, and the pooled
    ratio by the share left now.  A channel promised too few customers to
    measure keeps its ``previous`` estimate.

    Args:
        acquired: per turn so far, customers acquired by channel name.
        spend: per the same turns, dollars spent by channel name.
        pool_left: per the same turns and then now, share of the prospect
            pool not yet acquired at the turn's start (one more entry).
        previous: the last estimate per channel.
    """
    out = previous.copy()
    then, now = pool_left[:-1], pool_left[-1]
    for i, c in enumerate(scenario.channels):
        got = sum(a.get(c.name, 0) for a in acquired)
        promised = np.array([float(c.expected_acquisitions(float(x.get(c.name, 0.0))))
                             for x in spend])
        # Too few promised customers to measure anything: keep the old estimate.
        if promised.sum() >= 20.0:
            out[i] = min(1.0, got / float(promised @ then) * now) if promised @ then > 0 else 0.0
    return out


def cohort_values(observation: Observation, worth: np.ndarray, min_age: int = 2,
                  max_age: int = 6) -> np.ndarray | None:
    """Mean ``worth`` per customer of each channel's recent cohorts, dollars (None if too few).

    For the cohorts acquired ``min_age`` to ``max_age`` turns ago: older
    cohorts say more about a customer, younger ones about today's market;
    this window holds a few of each.  A channel left unused lately is
    valued on all its mature customers.
    """
    s = observation.scenario
    age = observation.turn - observation.acquisition_turn.astype(np.int64)
    channel = observation.channel.astype(np.int64)
    n = len(s.customer_channel_names)
    mature = age >= min_age
    window = mature & (age <= max_age)
    count = np.bincount(channel[window], minlength=n)
    total = np.bincount(channel[window], weights=worth[window], minlength=n)
    count_all = np.bincount(channel[mature], minlength=n)
    total_all = np.bincount(channel[mature], weights=worth[mature], minlength=n)
    paid = slice(0, len(s.channels))     # the channels money buys
    count, total, count_all, total_all = (x[paid] for x in (count, total, count_all, total_all))
    few = count < _MIN_COHORT
    count = np.where(few, count_all, count)
    total = np.where(few, total_all, total)
    if (count == 0).any():
        return None
    return total / count


class CustomerCentric(BaseStrategy):
    """Serve whom service pays for, turn away who loses money, acquire where value is.

    Args:
        acquisition: a fixed acquisition plan (scenario -> dollars per
            channel) instead of the reference's own; its service policy then
            spends what the plan leaves (how the service lever is measured).
        referral_value: in a game with referrals, value customers at CLV +
            CRV (True) or, as a firm blind to referrals would, at CLV alone
            (False: the fitness studio's lesson).
    """

    name = "customer-centric"

    def __init__(self, acquisition: Callable[[object], dict[str, float]] | None = None,
                 referral_value: bool = True):
        self._fixed_acquisition = acquisition
        self._referral_value = referral_value

    def reset(self, scenario, seed: int | None = None) -> None:
        self._last_spend: dict[str, float] | None = None
        self._spends: dict[int, dict[str, float]] = {}
        self._yield = np.ones(len(scenario.channels))
        self._values: np.ndarray | None = None
        self._fits: dict | None = None
        self._crv: dict[str, np.ndarray] = {}
        self._cohort_cache: dict = {}   # channel_values' mature cohorts, this game
        # One response estimate per customer channel, the referral channel included.
        self._test = ResponseTest(len(scenario.customer_channel_names))

    @property
    def response_test(self) -> ResponseTest | None:
        """The strategy's ongoing test of who responds to service (None before ``reset``)."""
        return getattr(self, "_test", None)

    def decide(self, observation: Observation, truth: Truth | None = None) -> Decision:
        s = observation.scenario
        if not hasattr(self, "_yield"):
            self.reset(s)
        if observation.books:
            # The last turns' spends: ours, or the previous management's before turn 1.
            if self._last_spend is not None:
                self._spends[observation.turn - 1] = self._last_spend
            books = observation.books
            # Share of the pool left at the start of each turn so far, and now.
            acquired = np.cumsum([b.acquired for b in books])
            pool_left = 1.0 - np.concatenate([[0], acquired]) / s.prospects
            self._yield = channel_yield(s, [b.acquired_by_channel for b in books],
                                        [self._spends.get(b.turn, s.inherited.acquisition)
                                         for b in books], pool_left, self._yield)
        try:
            # Last turn's fits start this turn's search: the base changes little in a turn.
            value = predict_clv(observation, warm_start=self._fits)
        except DataError:
            tiers, cost = self.rfm_tiers(observation, _SERVICE_SHARE * s.budget.marketing)
            values = self._smoothed(channel_values(observation, self._cohort_cache))
            acquisition = self._acquire(s, values, s.budget.marketing - cost)
            return Decision(acquisition, tiers)
        self._fits = value.fits
        # With referrals a customer is worth its CLV plus its predicted CRV (none otherwise).
        if self._referral_value:
            self._crv = referral_nbd.crv_columns(observation, value)
        self._test.update(observation, s.service.purchase_boost)
        plan = self.service_plan(observation, value)
        values = self._smoothed(self.channel_worth(observation, value, plan))
        budget = s.budget.marketing
        if self._fixed_acquisition is not None:
            acquisition = dict(self._fixed_acquisition(s))
            chosen = _affordable(plan.net, plan.options.cost, budget - sum(acquisition.values()))
        elif values is None:
            acquisition = self._acquire(s, None, budget)
            chosen = _affordable(plan.net, plan.options.cost, budget - sum(acquisition.values()))
        else:
            acquisition, chosen = split_marketing(s, values * self._yield, plan.net,
                                                  plan.options.cost, budget)
        room = budget - float(plan.options.cost[chosen].sum())
        tiers, scores, service_cost = self.tiers(observation, value, plan, chosen, room)
        over = sum(acquisition.values()) + service_cost - budget
        if over > 0:
            # The test's probes (a few customers per channel) come out of acquisition.
            total = sum(acquisition.values())
            scale = max(total - over, 0.0) / total if total > 0 else 0.0
            acquisition = {c: x * scale * (1 - 1e-12) for c, x in acquisition.items()}
        self._last_spend = dict(acquisition)
        return Decision(acquisition, tiers, scores)

    def service_plan(self, observation: Observation, value: CustomerValue) -> "_ServicePlan":
        """Every customer's best service spend, its predicted lift, and who to turn away."""
        s = observation.scenario
        active = observation.active.astype(bool)
        fee = s.membership_fee if s.contractual else 0.0
        theta = self._test.theta()[observation.channel.astype(np.int64)]
        options = service_options(value.p_alive, value.margin_share * fee,
                                  value.margin_share * value.purchase_rate * value.expected_spend,
                                  value.survival, theta, s, observation.turn)
        # A negative predicted CLV (margin share): she costs more to serve than she brings,
        # unless the friends she brings make up for it (CLV + CRV).
        turn_away = active & (self._worth(value) < 0)
        worth_serving = active & ~turn_away & (options.gain > 0)
        net = np.where(worth_serving, options.gain / options.cost, -np.inf)
        return _ServicePlan(options, turn_away, net)

    def _worth(self, value: CustomerValue) -> np.ndarray:
        """Predicted CLV, plus the predicted CRV in a game with referrals, dollars."""
        return value.predicted_clv + self._crv.get("predicted_crv", 0.0)

    def channel_worth(self, observation: Observation, value: CustomerValue,
                      plan: "_ServicePlan") -> np.ndarray | None:
        """Estimated value of one new customer from each channel under this policy, dollars.

        Two estimates with different errors, averaged: each channel's cohorts'
        observed profit with a geometric tail (``channel_values``; with
        referrals, plus its recent cohorts' predicted CRV), and its
        recent cohorts' profit so far plus the lab's predicted value from
        now on, under the policy the customer will be valued under (served
        as planned to the end of the game, left alone after it: the
        program gain of those the plan serves).
        """
        served = plan.net > 0
        crv = self._crv.get("predicted_crv")
        worth = (observation.columns["profit"] + plan.options.neutral_value
                 + (0.0 if crv is None else crv)
                 + np.where(served, np.maximum(plan.options.program_gain, 0.0), 0.0))
        from_lab = cohort_values(observation, worth)
        observed = channel_values(observation, self._cohort_cache)
        if observed is not None and crv is not None:
            # A cohort's own profit leaves out the friends it brings (they join in
            # the referral channel): both estimates count its members' CRV.
            friends = cohort_values(observation, crv)
            observed = observed if friends is None else observed + friends
        if observed is None or from_lab is None:
            return from_lab if observed is None else observed
        return 0.5 * (observed + from_lab)

    def tiers(self, observation: Observation, value: CustomerValue, plan: "_ServicePlan",
              chosen: np.ndarray, room: float) -> tuple[tuple[Tier, ...], dict[str, np.ndarray], float]:
        """The tiers of this turn's plan; a random share of the chosen is held out as a test.

        The tiers are rules on the lab's columns and observable fields, never
        a per-customer list of spends: a record stays small and the plan can
        be replayed on another customer base (the debrief's service lever).
        Customers lost money on (predicted CLV < 0) are turned away; in each
        channel the customers with the highest expected contribution next
        turn (``horizon_value``) get the plan's spends, the most valuable the
        highest spend, in as many as the plan serves at each spend.  Only
        the test's few customers are named by id: those held out, and the
        probes served where the plan serves few.

        Args:
            room: service dollars the probes may add to the plan's.

        Returns:
            (the tiers, the score columns they use, their service cost in dollars).
        """
        s = observation.scenario
        n = observation.n_customers
        channel = observation.channel.astype(np.int64)
        rows = np.flatnonzero(chosen)
        held = self._test.held_out(rows, observation.turn, n)
        # Keep testing where few are served: an estimate that no one in a segment
        # responds would otherwise never be checked again.
        probe = self._probe(observation, value, plan, chosen, room)
        probe_held = self._test.held_out(probe, observation.turn, n, 0.5)
        levels = plan.options.levels
        ids = observation.customer_id
        worth_field = "predicted_clv_crv" if self._crv else "predicted_clv"
        tiers = [Tier("negative value", {"field": worth_field, "op": "<", "value": 0.0}, DISENGAGE)]
        held_rows = np.concatenate([rows[held], probe[probe_held]])
        if held_rows.size:
            tiers.append(Tier("test: held out", {"field": "customer_id", "op": "in",
                                                 "value": [int(i) for i in ids[held_rows]]}, 0.0))
        if (~probe_held).any():
            tiers.append(Tier("test: served", {"field": "customer_id", "op": "in",
                                               "value": [int(i) for i in ids[probe[~probe_held]]]},
                              float(levels[_PROBE_LEVEL])))
        hv = value.horizon_value
        served_rows, level = rows[~held], plan.options.best[rows[~held]]
        for k, name in enumerate(s.customer_channel_names):
            mine = level[channel[served_rows] == k]
            if mine.size == 0:
                continue
            # The channel's customers by expected contribution, best first, in blocks
            # of the plan's counts per spend (highest spend first).
            ranked = np.sort(hv[served_rows[channel[served_rows] == k]])[::-1]
            counts = np.bincount(mine, minlength=levels.size)[::-1]
            taken = 0
            for j, count in zip(range(levels.size - 1, -1, -1), counts):
                if count == 0:
                    continue
                taken += int(count)
                rule = {"all": [{"field": "channel", "op": "==", "value": name},
                                {"field": "horizon_value", "op": ">=", "value": float(ranked[taken - 1])}]}
                tiers.append(Tier(f"{name}: service ${levels[j]:,.2f}", rule, float(levels[j])))
        scores = value.columns()
        if self._crv:
            scores = {**scores, **self._crv, "predicted_clv_crv": self._worth(value)}
        assignment = assign_tiers(Decision({}, tuple(tiers), scores), dict(observation.columns),
                                  observation.categories, np.inf, servable=observation.active)
        test_rows = np.concatenate([held_rows, np.flatnonzero(assignment.service_per_customer > 0)])
        test_held = np.arange(test_rows.size) < held_rows.size
        spend = assignment.service_per_customer[test_rows]
        # The held-out customers' planned spend: what the served of their kind got.
        planned = np.concatenate([levels[plan.options.best[rows[held]]],
                                  np.full(int(probe_held.sum()), levels[_PROBE_LEVEL])])
        spend[test_held] = planned
        g = hill_response(spend, s.service)
        stay = value.survival.expect(value.survival.nodes)[value.survival.group[test_rows]]
        # The probes are a random split of their own (held out at half): compared apart.
        split = np.isin(test_rows, probe).astype(np.int64)
        self._test.record(observation.turn, test_rows, test_held, channel[test_rows], g,
                          value.purchase_rate[test_rows] * value.p_alive[test_rows], -np.log(stay),
                          1.0 - stay if s.contractual else None, split)
        return tuple(tiers), scores, float(assignment.service_cost)

    def _probe(self, observation: Observation, value: CustomerValue, plan: "_ServicePlan",
               chosen: np.ndarray, room: float) -> np.ndarray:
        """Rows to serve as a test in segments where fewer than ``_PROBE`` are chosen.

        The most valuable customers left (by expected contribution per turn)
        of each such segment, up to ``_PROBE`` (at most ``_PROBE_SHARE`` of
        the segment) chosen and probed in all, as many as ``room`` dollars
        pay for at the probe spend (held-out probes counted too).
        """
        channel = observation.channel.astype(np.int64)
        n = len(observation.scenario.customer_channel_names)
        active = observation.active.astype(bool)
        # A small market gets a smaller test: probes cost what they cost whatever the size.
        want = np.minimum(_PROBE, np.ceil(_PROBE_SHARE * np.bincount(channel[active], minlength=n)))
        short = want - np.bincount(channel[chosen], minlength=n)
        if not (short > 0).any():
            return np.empty(0, dtype=np.int64)
        open_ = active & ~chosen & ~plan.turn_away
        worth = np.where(open_, value.p_alive * value.margin_share
                         * (value.purchase_rate * value.expected_spend
                            + (observation.scenario.membership_fee
                               if observation.scenario.contractual else 0.0)), -np.inf)
        picks = []
        for k in np.flatnonzero(short > 0):
            mine = np.flatnonzero((channel == k) & np.isfinite(worth))
            if mine.size:
                take = min(int(short[k]), mine.size)
                picks.append(mine[np.argpartition(-worth[mine], take - 1)[:take]])
        picks = np.concatenate(picks) if picks else np.empty(0, dtype=np.int64)
        affordable = int(max(room, 0.0) // float(plan.options.levels[_PROBE_LEVEL]))
        return picks[:affordable]

    def _smoothed(self, values: np.ndarray | None) -> np.ndarray | None:
        # Each turn's estimate rests on few cohorts: average it with the earlier ones.
        if values is not None and self._values is not None:
            values = _SMOOTHING * values + (1.0 - _SMOOTHING) * self._values
        if values is not None:
            self._values = values
        return values

    def _acquire(self, s, values: np.ndarray | None, budget: float) -> dict[str, float]:
        if self._fixed_acquisition is not None:
            acquisition = dict(self._fixed_acquisition(s))
        elif values is None:
            acquisition = even_acquisition(s)
            scale = min(1.0, budget / max(sum(acquisition.values()), 1e-9))
            acquisition = {c: x * scale for c, x in acquisition.items()}
        else:
            acquisition = greedy_acquisition(s, values * self._yield, budget=budget)
        self._last_spend = dict(acquisition)
        return acquisition

    @staticmethod
    def rfm_tiers(observation: Observation, budget: float) -> tuple[tuple[Tier, ...], float]:
        """Turn away observed losses; serve recent buyers with the best profit per turn.

        Returns:
            (the tiers, their service cost in dollars this turn).
        """
        s = observation.scenario
        cols = observation.columns
        level = 2.0 * s.service.half_saturation
        unprofitable = {"all": [{"field": "profit", "op": "<", "value": 0.0},
                                {"field": "age", "op": ">=", "value": 2.0}]}
        tiers = [Tier("unprofitable", unprofitable, DISENGAGE)]
        # Likely still a customer: a member (contractual) or a recent buyer.
        if s.contractual:
            current = {"field": "active", "op": "==", "value": 1}
        else:
            current = {"field": "recency", "op": "<=", "value": 1.0}
        is_current = evaluate_rule(current, cols)
        turned_away = (cols["profit"] < 0) & (cols["age"] >= 2.0)
        rate = np.where(is_current & ~turned_away & (cols["active"] == 1),
                        cols["profit_per_turn"], -np.inf)
        # Service pays back only where the customer brings enough margin.
        worth_serving = rate >= level
        count = min(int(worth_serving.sum()), int(budget // level))
        cost = 0.0
        if count > 0:
            threshold = float(np.partition(rate, rate.size - count)[rate.size - count])
            best = {"all": [current, {"field": "profit_per_turn", "op": ">=", "value": threshold}]}
            served = is_current & (cols["profit_per_turn"] >= threshold) & ~turned_away \
                & (cols["active"] == 1)
            # Ties at the threshold could push the tier over budget; skip it then.
            if int(served.sum()) * level <= budget:
                tiers.append(Tier("best", best, level))
                cost = int(served.sum()) * level
        return tuple(tiers), cost
