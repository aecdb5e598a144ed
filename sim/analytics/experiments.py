"""Small experiments read from the player's own data: holdout tests and acquisition tests.

**Holdout tests.**  A tier with a ``holdout`` is an experiment
(``sim.holdout``): at its first turn its customers are split at random into
*treated* (given the tier's service or turned away) and *control* (given
nothing, kept).  The groups are fixed at that turn (intention to treat: a
customer stays in its group whatever later tiers do to it), and every turn
since is compared on four outcomes per customer:

* purchases in the turn;
* spend in the turn, dollars;
* retained: 1 if still a paying member at the turn's end (contractual
  businesses, where cancellations are seen), else 1 if it bought in the turn
  (an active buyer: deaths are never seen);
* profit in the turn, dollars: gross margin on spend and fees less cost to
  serve less the experiment's own service dollars (those of a customer
  treated in the experiment's tier that turn).

For each, the difference of the treated and control means with a 95%
**Welch interval**:

    diff = mean_T - mean_C,   se = sqrt(s_T^2 / n_T + s_C^2 / n_C),
    df = se^4 / ((s_T^2/n_T)^2 / (n_T - 1) + (s_C^2/n_C)^2 / (n_C - 1)),
    diff +- t_{0.975, df} * se

(s^2 the sample variances; Welch-Satterthwaite degrees of freedom).  Random
assignment makes diff unbiased for the average effect over the experiment's
customers; Welch's variance is conservative for that finite-population
average, so the interval covers at about its nominal rate or a little more
(``tests/test_experiments.py`` measures it against the engine's truth).

**Acquisition tests.**  Each channel's cohort bought in a turn with some
money: its observed profit per customer so far (gross margin less cost to
serve since acquisition) with a 95% t interval (mean +- t_{0.975, n-1} s /
sqrt(n)), and per acquisition dollar (n / dollars times the same).  A small
test spend in a channel shows what its customers are worth before the
budget is moved there.

Everything here reads the observation and the player's own decisions: no
truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from ..decisions import Decision
from ..observation import Observation

#: The outcomes compared, in display order, with their units.
OUTCOMES: dict[str, str] = {
    "purchases": "purchases per customer in the turn",
    "spend": "dollars per customer in the turn",
    "retained": "share still a member (members) or buying (shops) in the turn",
    "profit": "dollars per customer in the turn, the test's service charged",
}
#: Confidence of every interval.
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval.

    Attributes:
        estimate: the point estimate.
        low: the interval's lower end.
        high: the interval's upper end.
    """

    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies wholly on one side of zero."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Contrast:
    """Treated against control on one outcome in one turn.

    Attributes:
        treated_mean: mean outcome of the treated customers.
        control_mean: mean outcome of the control customers.
        lift: treated minus control, with its Welch interval.
    """

    treated_mean: float
    control_mean: float
    lift: Interval


@dataclass(frozen=True)
class ExperimentTurn:
    """One turn of an experiment's comparison.

    Attributes:
        turn: the turn whose outcomes are compared.
        served: True if the experiment's tier ran (with a holdout) in that turn.
        contrasts: outcome name (``OUTCOMES``) -> its contrast.
    """

    turn: int
    served: bool
    contrasts: dict[str, Contrast]


@dataclass(frozen=True)
class Experiment:
    """A holdout test: one tier name's treated and control groups and their outcomes.

    Attributes:
        name: the tier's name (the test's key: a new name is a new test).
        start_turn: the turn the groups were drawn.
        turns_run: turns the tier ran with its holdout.
        service: the tier's service at the start (dollars or "disengage").
        holdout: the held-out share at the start.
        treated: customers treated at the start.
        control: customers held out at the start.
        cost: service dollars spent on the treated over the turns run.
        saving: service dollars not spent on the controls over the turns run.
        results: the comparison in each turn since the start.
        to_date: outcome name -> the contrast of each customer's sum over
            the turns since the start (for ``retained``: turns retained).
    """

    name: str
    start_turn: int
    turns_run: int
    service: float | str
    holdout: float
    treated: int
    control: int
    cost: float
    saving: float
    results: tuple[ExperimentTurn, ...]
    to_date: dict[str, Contrast]

    @property
    def profit_to_date(self) -> Contrast | None:
        """Cumulative profit per customer since the start, treated against control."""
        return self.to_date.get("profit")

    @property
    def lost_profit(self) -> float:
        """Profit given up by holding the controls out, dollars (0 if the treatment lost money).

        The estimated profit lift to date per customer times the controls:
        what serving them too would have earned.
        """
        if self.profit_to_date is None:
            return 0.0
        return max(self.profit_to_date.lift.estimate, 0.0) * self.control

    @property
    def worth(self) -> float:
        """What the test says the treatment is worth on the treated, dollars (lift x treated)."""
        if self.profit_to_date is None:
            return 0.0
        return self.profit_to_date.lift.estimate * self.treated


@dataclass(frozen=True)
class AcquisitionTest:
    """One channel's cohort bought in one turn: what its customers are worth so far.

    Attributes:
        channel: the channel's name.
        turn: the turn of acquisition.
        dollars: the acquisition money spent in the channel that turn.
        customers: customers acquired.
        turns_observed: turns of the cohort's history so far (the
            acquisition turn included).
        value_per_customer: observed profit per customer so far, dollars.
        value_per_dollar: the cohort's profit so far per acquisition dollar.
    """

    channel: str
    turn: int
    dollars: float
    customers: int
    turns_observed: int
    value_per_customer: Interval
    value_per_dollar: Interval


def welch_interval(treated: np.ndarray, control: np.ndarray, level: float = LEVEL) -> Interval:
    """Difference of means (treated - control) with its Welch-Satterthwaite t interval.

    NaN ends when either group has fewer than two customers.
    """
    treated = np.asarray(treated, dtype=float)
    control = np.asarray(control, dtype=float)
    n_t, n_c = treated.size, control.size
    if n_t == 0 or n_c == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    diff = float(treated.mean() - control.mean())
    if n_t < 2 or n_c < 2:
        return Interval(diff, float("nan"), float("nan"))
    a, b = treated.var(ddof=1) / n_t, control.var(ddof=1) / n_c
    se = float(np.sqrt(a + b))
    if se == 0.0:
        return Interval(diff, diff, diff)
    df = (a + b) ** 2 / (a * a / (n_t - 1) + b * b / (n_c - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return Interval(diff, diff - half, diff + half)


def mean_interval(values: np.ndarray, level: float = LEVEL) -> Interval:
    """Mean with its t interval (NaN ends below two values)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    mean = float(values.mean())
    if values.size < 2:
        return Interval(mean, float("nan"), float("nan"))
    half = float(stats.t.ppf(0.5 + level / 2, values.size - 1)) * float(values.std(ddof=1)) \
        / np.sqrt(values.size)
    return Interval(mean, mean - half, mean + half)


def experiment_outcomes(observation: Observation, decisions: Sequence[Decision], name: str,
                        ) -> dict[str, np.ndarray]:
    """(rows, played turns) outcome matrices of the customers, for the test named ``name``.

    The profit charges the service of the tier called ``name`` where the
    customer was treated in it.
    """
    columns = observation.turn_columns
    played = columns >= 1
    purchases = observation.purchases[:, played].astype(float)
    spend = observation.spend[:, played]
    profit = observation.profit_matrix()[:, played]
    turns = columns[played]
    if observation.scenario.contractual:
        retained = (observation.cancel_turn[:, None] > turns[None, :]).astype(float)
    else:
        retained = (purchases > 0).astype(float)
    arm = observation.experiment_arm[:, played]
    charge = np.zeros(profit.shape)
    for k, turn in enumerate(turns):
        decision = decisions[int(turn) - 1] if int(turn) - 1 < len(decisions) else None
        if decision is None:
            continue
        for i, tier in enumerate(decision.tiers):
            if tier.name == name and tier.holdout > 0 and not tier.disengaged:
                charge[arm[:, k] == i + 1, k] = tier.spend_per_customer
    return {"purchases": purchases, "spend": spend, "retained": retained,
            "profit": profit - charge}


def experiments(observation: Observation, decisions: Sequence[Decision]) -> list[Experiment]:
    """Every holdout test in the decisions played so far, compared turn by turn.

    Args:
        observation: the current observation (its columns hold the turns played).
        decisions: the decisions of turns 1, 2, ... played (at least those
            the observation's columns cover).

    Returns:
        One ``Experiment`` per tier name that had a holdout, in order of start.
    """
    columns = observation.turn_columns
    played_turns = [int(t) for t in columns if t >= 1]
    starts: dict[str, tuple[int, int]] = {}
    runs: dict[str, list[tuple[int, int]]] = {}
    for turn in played_turns:
        if turn - 1 >= len(decisions):
            break
        for i, tier in enumerate(decisions[turn - 1].tiers):
            if tier.holdout > 0:
                starts.setdefault(tier.name, (turn, i))
                runs.setdefault(tier.name, []).append((turn, i))
    out = []
    for name, (start, index) in starts.items():
        tier = decisions[start - 1].tiers[index]
        col = int(np.flatnonzero(columns == start)[0])
        arm0 = observation.experiment_arm[:, col]
        treated, control = arm0 == index + 1, arm0 == -(index + 1)
        outcomes = experiment_outcomes(observation, decisions, name)
        run_turns = {t for t, _ in runs[name]}
        cost = saving = 0.0
        for turn, i in runs[name]:
            t = decisions[turn - 1].tiers[i]
            c = int(np.flatnonzero(columns == turn)[0])
            arm = observation.experiment_arm[:, c]
            cost += t.spend_per_customer * int((arm == i + 1).sum())
            saving += t.spend_per_customer * int((arm == -(i + 1)).sum())
        results = []
        offset = played_turns.index(start)
        for k, turn in enumerate(played_turns[offset:], start=offset):
            contrasts = {}
            for outcome, matrix in outcomes.items():
                x = matrix[:, k]
                contrasts[outcome] = Contrast(float(x[treated].mean()) if treated.any() else float("nan"),
                                              float(x[control].mean()) if control.any() else float("nan"),
                                              welch_interval(x[treated], x[control]))
            results.append(ExperimentTurn(turn, turn in run_turns, contrasts))
        to_date = {}
        for outcome, matrix in outcomes.items():
            total = matrix[:, offset:].sum(axis=1)
            to_date[outcome] = Contrast(float(total[treated].mean()) if treated.any() else float("nan"),
                                        float(total[control].mean()) if control.any() else float("nan"),
                                        welch_interval(total[treated], total[control]))
        out.append(Experiment(name, start, len(runs[name]), tier.service, float(tier.holdout),
                              int(treated.sum()), int(control.sum()), cost, saving, tuple(results),
                              to_date))
    return out


def acquisition_tests(observation: Observation, decisions: Sequence[Decision],
                      ) -> list[AcquisitionTest]:
    """Each channel's cohort of each played turn with acquisition money: its value so far.

    Returns:
        One ``AcquisitionTest`` per (turn, channel) with dollars > 0 and at
        least one customer, in turn then channel order.
    """
    profit = observation.profit_matrix()
    columns = observation.turn_columns
    names = observation.scenario.channel_names
    out = []
    for turn in (int(t) for t in columns if t >= 1):
        if turn - 1 >= len(decisions):
            break
        first = int(np.flatnonzero(columns == turn)[0])
        cohort_profit = profit[:, first:].sum(axis=1)
        for c, channel in enumerate(names):
            dollars = float(decisions[turn - 1].acquisition.get(channel, 0.0))
            members = (observation.acquisition_turn == turn) & (observation.channel == c)
            n = int(members.sum())
            if dollars <= 0 or n == 0:
                continue
            per_customer = mean_interval(cohort_profit[members])
            scale = n / dollars
            out.append(AcquisitionTest(channel, turn, dollars, n, columns.size - first, per_customer,
                                       Interval(per_customer.estimate * scale, per_customer.low * scale,
                                                per_customer.high * scale)))
    return out


# ------------------------------------------------------------------ words and tables

def _dollars(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def _signed(x: float, money: bool, signed: bool = True) -> str:
    if not np.isfinite(x):
        return "n/a"
    sign = ("+" if x >= 0 else "-") if signed else ("" if x >= 0 else "-")
    if money:
        return sign + f"${abs(x):,.2f}"
    return sign + f"{abs(x):.3f}"


def interval_text(lift: Interval, money: bool = True, signed: bool = True) -> str:
    """``+$1.20 (-$0.40 to +$2.80)``: an estimate with its 95% interval (a lift is signed)."""
    def show(x: float) -> str:
        return _signed(x, money, signed)

    if not np.isfinite(lift.low):
        return f"{show(lift.estimate)} (too few to tell)"
    return f"{show(lift.estimate)} ({show(lift.low)} to {show(lift.high)})"


def service_text(service: float | str) -> str:
    """A tier's treatment in words."""
    return "turned away" if service == "disengage" else f"${float(service):,.2f} each"


#: Header of ``experiment_rows``.
EXPERIMENT_HEADER = ["test", "treatment", "treated / control", "turn", "purchases lift",
                     "profit lift per customer (95%)"]


def experiment_rows(found: Sequence[Experiment], latest_only: bool = True) -> list[list[str]]:
    """Table rows: each test's latest turn (or every turn) of purchases and profit lift."""
    rows = []
    for ex in found:
        shown = ex.results[-1:] if latest_only else ex.results
        for r in shown:
            rows.append([ex.name, service_text(ex.service), f"{ex.treated:,} / {ex.control:,}",
                         str(r.turn), interval_text(r.contrasts["purchases"].lift, money=False),
                         interval_text(r.contrasts["profit"].lift)])
    return rows


def experiment_sentence(ex: Experiment) -> str:
    """What a test cost, saved, gave up and was worth, in one sentence (observed data only)."""
    nan = float("nan")
    lift = ex.profit_to_date.lift if ex.profit_to_date else Interval(nan, nan, nan)
    verdict = ("the treatment paid" if lift.low > 0 else "the treatment lost money" if lift.high < 0
               else "too early to tell whether it pays")
    return (f"Test '{ex.name}' ({service_text(ex.service)}, from turn {ex.start_turn}, "
            f"{ex.turns_run} turn{'s' if ex.turns_run != 1 else ''}): {ex.treated:,} treated cost "
            f"{_dollars(ex.cost)} of service; holding out {ex.control:,} saved {_dollars(ex.saving)} "
            f"and gave up about {_dollars(ex.lost_profit)} of profit. Profit per customer to date: "
            f"{interval_text(lift)} against the control, so {verdict}: worth about "
            f"{_dollars(ex.worth)} on the treated.")


def acquisition_rows(tests: Sequence[AcquisitionTest], labels: dict[str, str] | None = None,
                     ) -> list[list[str]]:
    """Table rows: each cohort's customers, dollars and value per customer and per dollar."""
    labels = labels or {}
    return [[labels.get(t.channel, t.channel), str(t.turn), _dollars(t.dollars).replace(".00", ""),
             f"{t.customers:,}", interval_text(t.value_per_customer, signed=False),
             interval_text(t.value_per_dollar, signed=False)] for t in tests]


#: Header of ``acquisition_rows``.
ACQUISITION_HEADER = ["channel", "turn", "dollars", "customers", "profit per customer so far (95%)",
                      "per dollar"]
