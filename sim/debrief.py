"""The reveal after a game: firm value against the references, what each lever was worth, the lesson.

``debrief_of`` computes a ``Debrief`` from the scenario, the seed and the
player's decisions (so the screen and ``ccsim report RECORD`` give the same
debrief): the player's game is replayed (or taken from the session), the
reference strategies come from ``sim.references`` (played once per seed,
often in the background while the student played), and composed games
measure the levers (docs/design.md section 2, "value created by acquisition,
retention and development"): for each partner -- mass-marketing, the
customer-centric reference, the oracle -- the player's acquisition with the
partner's service, and the partner's acquisition with the player's service
tiers applied to that game's own customers.  On the same random draws each
composed game isolates one choice, so "who you acquired was worth $X" is
measured, not asserted.

A ``Debrief`` is plain data (``to_dict``/``from_dict``: JSON), so a screen
can draw one it did not compute (a class server sends it when the
instructor releases it) without the engine.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Callable

import numpy as np

from .analytics.equity import EquityEstimate, estimate_equity
from .analytics.experiments import experiment_sentence, experiments, service_text
from .analytics.fitting import DataError
from .decisions import Decision
from .references import (PARTNERS, REFERENCES, Composition, composed_values, compositions,
                         own_score_columns, reference_values)
from .runner import PlayedGame, replay_game
from .scenario import Scenario
from .scoring import centricity_score, true_value_deciles
from .treatment import TreatmentLog
from .valuation import prospect_value

PLAYER = "you"

#: Steps of the reveal, for a progress bar: the references, the composed games, the rest.
PROGRESS_STEPS = len(REFERENCES) + 2 * len(PARTNERS) + 2


@dataclass(frozen=True)
class StrategyValue:
    """One strategy's game on the market played.

    Attributes:
        name: the strategy ("you" for the player).
        firm_value: discounted profit + customer equity left, discounted, dollars at turn 1.
        discounted_profit: the profit part, dollars at turn 1.
        equity_left: the true customer equity left at the end, discounted to turn 1, dollars.
        label: the name shown ("you (customer-centric)" when the player is that reference).
    """

    name: str
    firm_value: float
    discounted_profit: float
    equity_left: float
    label: str = ""


@dataclass(frozen=True)
class ChannelValue:
    """Where the acquisition money went, against the true value it bought.

    Attributes:
        channel: the channel's name; ``label`` its display name.
        spent: acquisition dollars over the player's turns, discounted to turn 1.
        acquired: customers bought through it in the player's turns.
        true_value: those customers' true value at acquisition (first purchase
            and equity, no service), discounted to turn 1, dollars.
        referral: True for the referral channel (friends customers brought):
            no acquisition dollars, so no value per dollar.
    """

    channel: str
    label: str
    spent: float
    acquired: int
    true_value: float
    referral: bool = False

    @property
    def value_per_dollar(self) -> float:
        return self.true_value / self.spent if self.spent > 0 else math.nan

    @property
    def value_per_customer(self) -> float:
        return self.true_value / self.acquired if self.acquired else math.nan


@dataclass(frozen=True)
class TierValue:
    """One of the player's tiers (by name, over every turn it was played).

    Attributes:
        name: the tier's name.
        customer_turns: customers in the tier, summed over turns.
        customers: distinct customers ever in it.
        dollars: service dollars spent on it.
        disengaged: True if the tier turned its customers away.
        top30_share: share of its customer-turns on the most valuable 30% of
            the player's customers (true value at acquisition).
        bottom_half_share: share on the least valuable half.
        negative_share: share on customers whose true value is below zero.
    """

    name: str
    customer_turns: int
    customers: int
    dollars: float
    disengaged: bool
    top30_share: float
    bottom_half_share: float
    negative_share: float

    @property
    def spend_per_customer(self) -> float:
        return self.dollars / self.customer_turns if self.customer_turns else 0.0


@dataclass(frozen=True)
class LeverSwap:
    """The player's levers against one partner's, on the same draws.

    Attributes:
        partner: the reference strategy.
        partner_value: the partner's own firm value.
        your_acquisition: firm value of the player's acquisition with the partner's service.
        your_service: firm value of the partner's acquisition with the player's
            service (None when it cannot be measured: see ``Debrief.notes``).
    """

    partner: str
    partner_value: float
    your_acquisition: float
    your_service: float | None

    @property
    def acquisition_worth(self) -> float:
        """What the player's acquisition was worth against the partner's, dollars."""
        return self.your_acquisition - self.partner_value

    @property
    def service_worth(self) -> float | None:
        """What the player's service was worth against the partner's, dollars."""
        return None if self.your_service is None else self.your_service - self.partner_value


@dataclass(frozen=True)
class EquityCheck:
    """The lab's estimate of the customer equity left against the truth, dollars at the end.

    Both value the customers the same way (the scorer's: no service, not
    turned away, each turn discounted at its end); ``low``-``high`` is the
    estimate's ``LEVEL`` interval.  NaN when the models could not be fitted.
    """

    estimated: float
    low: float
    high: float
    true: float

    @property
    def error(self) -> float:
        """estimate / truth - 1 (NaN when undefined)."""
        if not (math.isfinite(self.estimated) and self.true):
            return math.nan
        return self.estimated / self.true - 1.0


@dataclass(frozen=True)
class ExperimentValue:
    """One of the player's holdout tests: what it cost and what it was worth (observed data).

    Attributes:
        name: the test's tier name.
        start_turn: the turn its groups were drawn; ``turns_run`` the turns it ran.
        treatment: the tier's treatment in words.
        treated, control: customers treated and held out at the start.
        cost: service dollars spent on the treated.
        saving: service dollars not spent on the controls.
        lost_profit: profit given up by holding the controls out (measured
            lift to date x controls, 0 if the treatment lost money), dollars.
        profit_lift, low, high: profit per customer to date, treated minus
            control, with its 95% Welch interval, dollars.
        worth: the measured lift times the treated, dollars.
        summary: all of it in one sentence.
    """

    name: str
    start_turn: int
    turns_run: int
    treatment: str
    treated: int
    control: int
    cost: float
    saving: float
    lost_profit: float
    profit_lift: float
    low: float
    high: float
    worth: float
    summary: str


@dataclass
class Debrief:
    """Everything the debrief screen and the report show, as plain data.

    Attributes:
        scenario, key: the scenario's name and short name.
        seed, prospects, turns, turn_length: the market played.
        played_by: who made the decisions (a team, a bot, "player").
        strategy: the strategy that made them (a reference's name when the
            record is a reference's own game: its row is then the player's).
        date: when the debrief was made (YYYY-MM-DD).
        lesson: the scenario's lesson; ``meaning`` what it meant in this game.
        advice: two or three sentences from this game's numbers, naming its
            channels and tiers: what to do differently.
        strategies: every strategy's firm value and its split (the player first).
        centricity: 0 = mass-marketing, 100 = the oracle (NaN if undefined).
        equity: the lab's estimate of the equity left against the truth.
        channels: acquisition by channel against the true value bought.
        tiers: the player's tiers: who they reached.
        levers: the player's levers swapped with each partner's.
        service_by_value_decile: share of the player's service dollars by true-value decile.
        value_by_decile: share of the player's customers' true value by decile.
        turn_rows: one row per turn: the books, tier sizes, and the revealed alive and lost.
        mass_profit: mass-marketing's profit per turn.
        notes: what could not be measured, and why.
        experiments: the player's holdout tests: cost, saving, profit given
            up and what each was worth.
    """

    scenario: str
    key: str
    seed: int
    prospects: int
    turns: int
    turn_length: str
    played_by: str
    strategy: str
    date: str
    lesson: str
    meaning: str
    advice: list[str]
    strategies: list[StrategyValue]
    centricity: float
    equity: EquityCheck
    channels: list[ChannelValue]
    tiers: list[TierValue]
    levers: list[LeverSwap]
    service_by_value_decile: list[float]
    value_by_decile: list[float]
    turn_rows: list[dict]
    mass_profit: list[float]
    notes: list[str] = field(default_factory=list)
    experiments: list[ExperimentValue] = field(default_factory=list)

    @property
    def player(self) -> StrategyValue:
        return self.value_of(PLAYER)

    def value_of(self, name: str) -> StrategyValue:
        return next(s for s in self.strategies if s.name == name)

    def firm_values(self) -> dict[str, float]:
        """Label -> firm value of the player and the references, the player's twin left out."""
        twin = self.twin
        return {(s.label or s.name): s.firm_value for s in self.strategies if s.name != twin}

    @property
    def player_label(self) -> str:
        return self.player.label or PLAYER

    @property
    def twin(self) -> str | None:
        """The reference the player is (a record of that reference's own game), if any."""
        me = self.player
        for s in self.strategies:
            if s.name == self.strategy and s.name != PLAYER and s.firm_value == me.firm_value:
                return s.name
        return None

    # -- plain data
    def to_dict(self) -> dict:
        """The debrief as JSON-ready data (non-finite numbers as None)."""
        return _plain(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "Debrief":
        """The inverse of ``to_dict``."""
        kinds = {"strategies": StrategyValue, "channels": ChannelValue, "tiers": TierValue,
                 "levers": LeverSwap, "experiments": ExperimentValue}
        values = {}
        for f in fields(cls):
            raw = data[f.name] if f.name in data else []
            if f.name in kinds:
                values[f.name] = [kinds[f.name](**_unplain(item, kinds[f.name])) for item in raw]
            elif f.name == "equity":
                values[f.name] = EquityCheck(**_unplain(raw, EquityCheck))
            elif f.name == "centricity":
                values[f.name] = math.nan if raw is None else float(raw)
            else:
                values[f.name] = raw
        return cls(**values)


def _plain(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return _plain(value.item())
    return value


def _unplain(item: dict, kind) -> dict:
    """Floats that were written as None (not finite) back to NaN; optional values stay None."""
    out = dict(item)
    for f in fields(kind):
        if out.get(f.name) is None and f.type in ("float", float):
            out[f.name] = math.nan
    return out


# ----------------------------------------------------------------------------- computing it

def debrief_of(scenario: Scenario, seed: int, decisions: list[Decision],
               played: PlayedGame | None = None, treatment: TreatmentLog | None = None,
               estimate: EquityEstimate | None = None,
               progress: Callable[[str, float], None] | None = None, played_by: str = "player",
               strategy: str | None = None, workers: int = 1) -> Debrief:
    """Replay the player's game, play the references and the composed games, and compare.

    Args:
        scenario: the scenario played (at the size played).
        seed: the root seed.
        decisions: the player's decision of each turn.
        played: the player's finished game, if at hand (else it is replayed).
        treatment: the player's tiers turn by turn, if at hand (with ``played``).
        estimate: the lab's final equity estimate, if at hand (else it is computed).
        progress: called with what is being done and the share of the reveal
            done so far (0-1), before each step.
        played_by: who made the decisions (a team, a bot's name), for the report.
        strategy: the strategy that made them (default ``played_by``).
        workers: processes for the composed games (1: this process).

    Raises:
        DecisionError: a decision the game refuses.
    """
    steps = [0]

    def tell(what: str) -> None:
        if progress:
            progress(what, min(steps[0] / PROGRESS_STEPS, 1.0))
        steps[0] += 1

    if played is None or treatment is None:
        tell("replaying your game")
        treatment = TreatmentLog()
        played = replay_game(scenario, seed, decisions, PLAYER, before_turn=treatment.record)
    else:
        steps[0] += 1
    references = reference_values(scenario, seed, progress=lambda name: tell(f"playing {name}"))
    steps[0] = 1 + len(REFERENCES)
    composed = composed_values(scenario, seed, decisions, workers=workers,
                               progress=lambda name: tell(f"playing {name}"))
    steps[0] = 1 + len(REFERENCES) + len(compositions())
    tell("estimating your customer equity")
    equity = _equity_check(played, treatment, estimate)

    v = 1.0 / (1.0 + scenario.discount_rate)
    discount_end = v ** scenario.turns
    strategies = [StrategyValue(PLAYER, played.value.firm_value, played.value.discounted_profit,
                                played.value.terminal_equity * discount_end)]
    strategies += [StrategyValue(name, r.firm_value, r.discounted_profit,
                                 r.terminal_equity * discount_end) for name, r in references.items()]
    me = strategies[0]
    strategy = strategy or played_by
    if strategy in references and references[strategy].firm_value == me.firm_value:
        strategies[0] = StrategyValue(PLAYER, me.firm_value, me.discounted_profit, me.equity_left,
                                      f"{PLAYER} ({strategy})")
    worth, decile = (true_value_deciles(played.game) if played.game.customers.size
                     else (np.zeros(0), np.zeros(0, dtype=np.int64)))
    d = Debrief(
        scenario=scenario.name, key=scenario.key, seed=int(seed), prospects=scenario.prospects,
        turns=scenario.turns, turn_length=scenario.turn_length, played_by=played_by,
        strategy=strategy, date=time.strftime("%Y-%m-%d"), lesson=scenario.lesson, meaning="", advice=[],
        strategies=strategies,
        centricity=centricity_score(me.firm_value, references["mass-marketing"].firm_value,
                                    references["oracle"].firm_value),
        equity=equity,
        channels=_channels(played, decisions),
        tiers=_tiers(played, treatment, worth, decile),
        levers=[LeverSwap(p, references[p].firm_value,
                          _value(composed.get(Composition("acquisition", p))),
                          _value(composed.get(Composition("service", p)), none=True))
                for p in PARTNERS],
        service_by_value_decile=list(played.value.service_by_value_decile),
        value_by_decile=_value_by_decile(worth, decile),
        turn_rows=played.value.to_rows(),
        mass_profit=[r.books.profit for r in references["mass-marketing"].turns],
    )
    own = own_score_columns(decisions)
    if own:
        d.notes.append(f"Not measurable: your service with another strategy's acquisition, because "
                       f"your tiers use score columns of your own ({', '.join(own)}), which cannot "
                       "be recomputed on another market.")
    if not math.isfinite(equity.estimated):
        d.notes.append("Your lab could not estimate the customer equity: too little history to fit "
                       "the models.")
    d.experiments = experiment_values(played.game.observation, decisions)
    d.meaning = meaning(d, scenario)
    d.advice = advice(d, scenario)
    tell("done")
    return d


def experiment_values(observation, decisions: list[Decision]) -> list[ExperimentValue]:
    """The player's holdout tests as the debrief shows them (``sim.analytics.experiments``)."""
    out = []
    for ex in experiments(observation, decisions):
        lift = ex.profit_to_date.lift
        out.append(ExperimentValue(ex.name, ex.start_turn, ex.turns_run, service_text(ex.service),
                                   ex.treated, ex.control, ex.cost, ex.saving, ex.lost_profit,
                                   lift.estimate, lift.low, lift.high, ex.worth,
                                   experiment_sentence(ex)))
    return out


def _value(game, none: bool = False):
    if game is None:
        return None if none else math.nan
    return game.firm_value


def _equity_check(played: PlayedGame, treatment: TreatmentLog,
                  estimate: EquityEstimate | None) -> EquityCheck:
    true = played.value.terminal_equity
    if estimate is None:
        observation = played.game.observation
        try:
            effect, away = treatment.effect(observation)
            estimate = estimate_equity(observation, effect, away)
        except DataError:
            return EquityCheck(math.nan, math.nan, math.nan, true)
    return EquityCheck(estimate.total, estimate.low, estimate.high, true)


def _channels(played: PlayedGame, decisions: list[Decision]) -> list[ChannelValue]:
    """Acquisition dollars by channel over the player's turns against the true value they bought."""
    game, s = played.game, played.scenario
    v = 1.0 / (1.0 + s.discount_rate)
    spent = np.zeros(len(s.channels))
    for turn, decision in enumerate(decisions, start=1):
        spent += [float(decision.acquisition.get(c, 0.0)) * v ** turn for c in s.channel_names]
    obs = game.observation
    truth = game.truth
    mine = obs.acquisition_turn >= 1
    rows = np.flatnonzero(mine)
    worth = prospect_value(truth.population, truth.row_prospect[rows], s)
    # A customer's value is at the start of its acquisition turn: discount to turn 1.
    worth = worth * v ** (obs.acquisition_turn[rows].astype(float) - 1.0)
    channel = obs.channel[rows].astype(np.int64)
    public = played.game.public
    names, labels = public.customer_channel_names, public.customer_channel_labels
    value = np.bincount(channel, worth, minlength=len(names))
    count = np.bincount(channel, minlength=len(names))
    spent = np.concatenate([spent, np.zeros(len(names) - spent.size)])   # referrals cost nothing
    return [ChannelValue(name, labels[i], float(spent[i]), int(count[i]), float(value[i]),
                         referral=i >= len(s.channels))
            for i, name in enumerate(names)]


def _tiers(played: PlayedGame, treatment: TreatmentLog, worth: np.ndarray,
           decile: np.ndarray) -> list[TierValue]:
    """Each tier name's reach over the game: how many, what it cost, how valuable they truly were."""
    stats: dict[str, dict] = {}
    for turn in treatment.turns:
        tier, names = treatment.tiers(turn)
        spend, away = treatment.service(turn)
        for index, name in enumerate(names):
            rows = np.flatnonzero(tier == index)
            entry = stats.setdefault(name, {"turns": 0, "rows": set(), "dollars": 0.0, "away": False,
                                            "top": 0, "bottom": 0, "negative": 0})
            entry["turns"] += rows.size
            entry["rows"].update(rows.tolist())
            entry["dollars"] += float(spend[rows].sum())
            entry["away"] = entry["away"] or bool(away[rows].any())
            entry["top"] += int(np.count_nonzero(decile[rows] < 3))
            entry["bottom"] += int(np.count_nonzero(decile[rows] >= 5))
            entry["negative"] += int(np.count_nonzero(worth[rows] < 0))
    out = []
    for name, e in stats.items():
        n = max(e["turns"], 1)
        out.append(TierValue(name, e["turns"], len(e["rows"]), e["dollars"], e["away"],
                             e["top"] / n, e["bottom"] / n, e["negative"] / n))
    return out


def _value_by_decile(worth: np.ndarray, decile: np.ndarray) -> list[float]:
    """Share of the true value of the player's customers in each true-value decile."""
    if worth.size == 0:
        return [0.0] * 10
    total = np.bincount(decile, weights=np.maximum(worth, 0.0), minlength=10)
    return [float(x) for x in total / total.sum()] if total.sum() > 0 else [0.0] * 10


# ----------------------------------------------------------------------------- the words

def _money(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _per_dollar(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"${x:,.2f}"


def meaning(d: Debrief, scenario: Scenario) -> str:
    """What the scenario's lesson meant in this game, from its numbers."""
    top = d.value_by_decile[0] if d.value_by_decile else 0.0
    parts = [f"Here, the most valuable tenth of your customers held {top:.0%} of their true value"]
    bought = [c for c in d.channels if c.acquired >= 20 and not c.referral]
    if len(bought) >= 2:
        best = max(bought, key=lambda c: c.value_per_customer)
        worst = min(bought, key=lambda c: c.value_per_customer)
        parts.append(f"a customer bought through {best.label} was worth {_money(best.value_per_customer)}, "
                     f"one through {worst.label} {_money(worst.value_per_customer)}")
    return "; ".join(parts) + "."


def advice(d: Debrief, scenario: Scenario) -> list[str]:
    """Two or three sentences from this game's numbers, naming its channels and tiers."""
    out = [acquisition_sentence(d), referral_sentence(d), service_sentence(d, scenario),
           lever_sentence(d)]
    return [s for s in out if s]


def referral_sentence(d: Debrief) -> str:
    """What the friends customers brought were worth, against a bought customer ("" without referrals).

    Referrals have no acquisition dollars, so the comparison is per customer:
    a referred customer against one bought through the paid channels.
    """
    referred = next((c for c in d.channels if c.referral), None)
    if referred is None:
        return ""
    if referred.acquired == 0:
        return ("Nobody joined by referral while you ran the business: the customers who bring "
                "friends left, or were never served enough to bring any.")
    paid = [c for c in d.channels if not c.referral and c.acquired > 0]
    bought = sum(c.acquired for c in paid)
    per_bought = sum(c.true_value for c in paid) / bought if bought else math.nan
    share = referred.acquired / (referred.acquired + bought)
    head = (f"{referred.acquired:,} customers ({share:.0%} of those you gained) joined as friends "
            f"of your customers, at no acquisition cost, worth {_money(referred.true_value)} in all, "
            f"{_money(referred.value_per_customer)} each")
    if not math.isfinite(per_bought):
        return head + ": keep the customers who bring them."
    verdict = ("more than" if referred.value_per_customer > per_bought else "less than")
    return (f"{head}, {verdict} the {_money(per_bought)} a bought customer was worth: a customer's "
            f"value includes the friends they bring, so count it before turning anyone away.")


def acquisition_sentence(d: Debrief) -> str:
    """Where the acquisition money went, against what each channel's customers were worth."""
    used = [c for c in d.channels if c.spent > 0]
    total = sum(c.spent for c in used)
    if not used or total <= 0:
        swap = d.levers[0].acquisition_worth if d.levers else math.nan
        return (f"You bought no customers, so your base only shrank: against mass-marketing's even "
                f"split, that choice was worth {_money(swap)}.")
    top = max(used, key=lambda c: c.spent)
    share = top.spent / total
    judged = [c for c in used if c.acquired >= 20 and c.spent >= 0.05 * total] or [top]
    best = max(judged, key=lambda c: c.value_per_dollar)
    worst = min(judged, key=lambda c: c.value_per_dollar)
    if len(used) > 1 and max(c.spent for c in used) <= 1.2 * min(c.spent for c in used):
        return (f"You split your acquisition about evenly over {len(used)} channels, but a dollar "
                f"bought {_per_dollar(best.value_per_dollar)} of true customer value in {best.label} "
                f"and {_per_dollar(worst.value_per_dollar)} in {worst.label}: move money from "
                f"{worst.label} to {best.label}.")
    if len(judged) == 1:
        verdict = ("more than they cost" if best.value_per_dollar >= 1 else "less than they cost")
        return (f"You put {share:.0%} of your acquisition ({_money(top.spent)}) into {top.label}, "
                f"whose customers were worth {_per_dollar(top.value_per_dollar)} per dollar spent: "
                f"{verdict}; try the other channels before settling on one.")
    if best.channel == top.channel:
        return (f"Most of your acquisition ({share:.0%}, {_money(top.spent)}) went to {top.label}, "
                f"where a dollar bought {_per_dollar(top.value_per_dollar)} of true customer value, "
                f"against {_per_dollar(worst.value_per_dollar)} in {worst.label}: the right "
                f"channel; cut {worst.label} further.")
    return (f"You put {share:.0%} of your acquisition ({_money(top.spent)}) into {top.label}, where "
            f"a dollar bought {_per_dollar(top.value_per_dollar)} of true customer value, against "
            f"{_per_dollar(best.value_per_dollar)} in {best.label}: move money from {top.label} to "
            f"{best.label}.")


def service_sentence(d: Debrief, scenario: Scenario) -> str:
    """Who the biggest tier (or the turned-away tier) reached, against their true value."""
    e50 = scenario.service.half_saturation
    served = [t for t in d.tiers if t.dollars > 0]
    away = [t for t in d.tiers if t.disengaged and t.customer_turns]
    lever = d.levers[0].service_worth if d.levers else None
    good_game = math.isfinite(d.centricity) and d.centricity > 0 and (lever is None or lever > 0)
    sentences = []
    if served:
        t = max(served, key=lambda t: t.dollars)
        head = (f"Your tier '{t.name}' got {_money(t.dollars)} of service "
                f"({t.customer_turns:,} customer-turns at {_money_cents(t.spend_per_customer)})")
        if t.spend_per_customer < 0.5 * e50:
            tail = (f"; at that spend the S-shaped response gives almost nothing (half its effect "
                    f"needs {_money_cents(e50)} a head): serve fewer customers properly")
        elif t.bottom_half_share >= 0.5:
            tail = (f"; {t.bottom_half_share:.0%} of them were in the bottom half of your customers "
                    "by true value: aim it at the top")
        elif t.top30_share >= 0.6 and good_game:
            tail = (f"; {t.top30_share:.0%} of it reached the most valuable 30% of your customers: "
                    "money followed value")
        else:
            tail = (f"; {t.top30_share:.0%} of it reached the most valuable 30% of your customers "
                    f"and {t.bottom_half_share:.0%} the bottom half")
        sentences.append(head + tail + ".")
    else:
        top = sum(d.value_by_decile[:3])
        sentences.append(f"You spent nothing on real service, while the most valuable 30% of your "
                         f"customers held {top:.0%} of their true value: serve them at about "
                         f"{_money_cents(e50)}-{_money_cents(2 * e50)} a head.")
    if away:
        t = max(away, key=lambda t: t.customer_turns)
        verdict = ("well chosen" if t.negative_share >= 0.5
                   else f"{1 - t.negative_share:.0%} of them were worth keeping")
        sentences.append(f"Your tier '{t.name}' turned away {t.customers:,} customers, "
                         f"{t.negative_share:.0%} of them truly worth less than nothing: {verdict}.")
    return " ".join(sentences)


def _money_cents(x: float) -> str:
    return f"${x:,.2f}"


def lever_sentence(d: Debrief) -> str:
    """The single swap of one lever that would have helped most, measured on the same draws."""
    me = d.player.firm_value
    options = []
    for lever in d.levers:
        if math.isfinite(lever.your_acquisition):
            options.append((lever.your_acquisition - me,
                            f"{lever.partner}'s service with your acquisition"))
        if lever.your_service is not None and math.isfinite(lever.your_service):
            options.append((lever.your_service - me, f"{lever.partner}'s acquisition with your service"))
    if not options:
        return ""
    mass = d.levers[0] if d.levers and d.levers[0].partner == "mass-marketing" else None
    head = ""
    if mass is not None:
        service = mass.service_worth
        head = (f"Against mass-marketing on the same draws, who you acquired was worth "
                f"{_money(mass.acquisition_worth)}"
                + (f" and how you served them {_money(service)}. " if service is not None else ". "))
    gain, what = max(options)
    if gain <= 0:
        return head + ("No single swap with mass-marketing, customer-centric or the oracle beat your "
                       "game: both levers were well used.")
    return head + f"The swap that would have helped most: {what}, {_money(gain)} more firm value."
