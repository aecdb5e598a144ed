"""Scenarios: YAML files loaded into frozen dataclasses, validated with field paths.

A scenario is a whole business: its market of prospects (a mixture of latent
customer types), its acquisition channels, how service changes behaviour, its
economics and the length of a game.  Every number is in dollars or per turn.
A bad file raises ``ScenarioError`` whose message names the file and the
field path, e.g. ``coffee.yaml: types[1].purchase_rate.shape: must be > 0``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, fields, is_dataclass, replace
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from . import limits
from ._shipped import shipped_folder
from .capped_read import display_name, read_capped_text
from .errors import ScenarioError
from .frozen import FrozenDict

_SUFFIX = ".yaml"


@dataclass(frozen=True)
class GammaSpec:
    """Gamma distribution with shape and *rate* (mean = shape / rate)."""

    shape: float
    rate: float

    @property
    def mean(self) -> float:
        return self.shape / self.rate


@dataclass(frozen=True)
class BetaSpec:
    """Beta distribution on (0, 1) with parameters a, b (mean = a / (a + b))."""

    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


@dataclass(frozen=True)
class SpendSpec:
    """Gamma–Gamma spend: per purchase ~ Gamma(p, nu), nu ~ Gamma(q, gamma) (rates)."""

    p: float
    q: float
    gamma: float

    @property
    def mean(self) -> float:
        """Population mean spend per purchase, dollars: p * gamma / (q - 1)."""
        return self.p * self.gamma / (self.q - 1.0)


@dataclass(frozen=True)
class CustomerType:
    """One latent customer type of the market mixture.

    Attributes:
        name: label, never shown to the player.
        weight: share of prospects of this type (weights sum to 1).
        purchase_rate: lambda ~ Gamma, purchases per turn while alive.
        dropout_rate: mu ~ Gamma, deaths per turn (lifetime ~ Exp(mu)); None
            when ``churn_probability`` is given instead.
        churn_probability: per-turn churn theta ~ Beta (sBG); the engine uses
            mu = -ln(1 - theta).  None when ``dropout_rate`` is given.
        spend: Gamma–Gamma spend per purchase, dollars.
        cost_to_serve: kappa ~ Beta, the probability that a purchase is
            returned or needs support (so the expected share of revenue
            spent serving the customer).
        service_response: theta >= 0, how strongly service changes behaviour.
        channel_affinity: channel name -> relative reach weight (>= 0).
        profile: tag name -> probabilities over that tag's values.
        referral_rate: rho ~ Gamma, referrals per turn while alive (only
            with the scenario's ``referrals``); None: the type never refers.
    """

    name: str
    weight: float
    purchase_rate: GammaSpec
    dropout_rate: GammaSpec | None
    churn_probability: BetaSpec | None
    spend: SpendSpec
    cost_to_serve: BetaSpec
    service_response: float
    channel_affinity: dict[str, float]
    profile: dict[str, tuple[float, ...]]
    referral_rate: GammaSpec | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel_affinity", FrozenDict(self.channel_affinity))
        object.__setattr__(self, "profile", FrozenDict(self.profile))


@dataclass(frozen=True)
class Channel:
    """An acquisition channel (Blattberg & Deighton response).

    Expected acquisitions in a turn = ceiling * (1 - exp(-efficiency * spend))
    times the share of the channel's reach still in the prospect pool.
    """

    name: str
    label: str
    ceiling: float
    efficiency: float

    def expected_acquisitions(self, spend: float | Any) -> float | Any:
        """Expected customers bought by ``spend`` dollars in one turn (full pool)."""
        return self.ceiling * (1.0 - math.e ** (-self.efficiency * spend))


@dataclass(frozen=True)
class ProfileTag:
    """An observable categorical tag (what the player sees before any purchase)."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ServiceResponse:
    """Hill response g(e) = g_max * e^h / (e^h + e50^h), e dollars per customer per turn.

    Service multiplies dropout by exp(-theta * g) and purchase rate by
    (1 + purchase_boost * theta * g).
    """

    g_max: float
    half_saturation: float
    hill: float
    purchase_boost: float


@dataclass(frozen=True)
class Disengagement:
    """What turning a customer away does: the firm withdraws perks, courting and privileges.

    Attributes:
        purchase_multiplier: purchase rate lambda x this (0 < m <= 1): the
            customer buys much less.
        dropout_multiplier: dropout rate mu x this (>= 1): leaves sooner.
        cost_to_serve_factor: probability kappa that a purchase is returned
            or needs support x this (0..1): returns and support privileges
            withdrawn.
    """

    purchase_multiplier: float
    dropout_multiplier: float
    cost_to_serve_factor: float


@dataclass(frozen=True)
class Referrals:
    """How customers bring customers (docs/model.md section 2.6).

    Attributes:
        like_share: share of a customer's referrals that bring a prospect of
            its own latent type (like brings like); the rest bring a prospect
            drawn from the whole pool.
        spend_link: Gaussian-copula correlation of a prospect's referral rate
            with its mean spend per purchase (weak: 0..0.3).
        service_boost: psi; service multiplies the referral rate by
            (1 + psi * theta * g(e)).
    """

    like_share: float
    spend_link: float
    service_boost: float


@dataclass(frozen=True)
class Budget:
    """Most the player may spend per turn, dollars.

    One marketing budget: acquisition (all channels) plus service (all
    tiers) must not exceed it; what is not spent is profit.
    """

    marketing: float


@dataclass(frozen=True)
class InheritedPolicy:
    """The previous management's mass-marketing, simulated in the warm-up turns."""

    acquisition: dict[str, float]
    service: float

    def __post_init__(self) -> None:
        # Shared with every game of this scenario and shown to strategies: read-only.
        object.__setattr__(self, "acquisition", FrozenDict(self.acquisition))


@dataclass(frozen=True)
class Scenario:
    """A whole business; see ``scenarios/*.yaml`` and docs/design.md section 1."""

    key: str
    name: str
    business: str
    briefing: str
    lesson: str
    turn_length: str
    turns: int
    warmup_turns: int
    prospects: int
    discount_rate: float
    gross_margin: float
    fixed_cost: float
    contractual: bool
    membership_fee: float
    #: Gamma shape c of an incident's cost as a multiple of the turn's average
    #: ticket (mean 1, coefficient of variation 1/sqrt(c)); see behaviour.py.
    incident_cost_shape: float
    budget: Budget
    service: ServiceResponse
    disengage: Disengagement
    inherited: InheritedPolicy
    channels: tuple[Channel, ...]
    profile: tuple[ProfileTag, ...]
    types: tuple[CustomerType, ...]
    #: None: nobody refers anyone (every scenario file without a ``referrals`` block).
    referrals: Referrals | None = None

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    @property
    def has_referrals(self) -> bool:
        """True where customers bring customers (the public part of ``referrals``)."""
        return self.referrals is not None

    @property
    def customer_channel_names(self) -> tuple[str, ...]:
        """Names of the customers' channel codes: the paid channels, then ``referral`` if any."""
        return self.channel_names + (("referral",) if self.has_referrals else ())

    def to_dict(self) -> dict:
        """The scenario as the mapping a scenario file holds (``parse_scenario`` reads it back).

        Every field under its YAML name, absent optional fields left out;
        the short name (``key``) is the file's stem, not part of the content.
        """
        content = _plain(self)
        del content["key"]
        return content

    @property
    def content_hash(self) -> str:
        """SHA-256 of the scenario's content (canonical JSON of ``to_dict``), hex."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def with_prospects(self, prospects: int) -> "Scenario":
        """The same business scaled to a different prospect pool size.

        Channel ceilings, budgets, inherited spend and fixed cost scale with
        the pool and channel efficiency inversely, so the economics per
        customer and per dollar share of budget are unchanged: a small pool
        is a fast, faithful miniature of the full market.
        """
        if isinstance(prospects, bool) or not isinstance(prospects, int):
            raise ScenarioError(f"{self.key}: prospects: must be a whole number, got {prospects!r}")
        if prospects <= 0:
            raise ScenarioError(f"{self.key}: prospects: must be > 0, got {prospects}")
        problem = limits.check_value("prospects", prospects)
        if problem:
            raise ScenarioError(f"{self.key}: prospects: {problem}")
        _check_memory(self.key, prospects, self.warmup_turns + self.turns, self.profile)
        factor = prospects / self.prospects
        return replace(
            self,
            prospects=prospects,
            channels=tuple(
                replace(c, ceiling=c.ceiling * factor, efficiency=c.efficiency / factor)
                for c in self.channels
            ),
            fixed_cost=self.fixed_cost * factor,
            budget=Budget(self.budget.marketing * factor),
            inherited=InheritedPolicy(
                {k: v * factor for k, v in self.inherited.acquisition.items()},
                self.inherited.service,
            ),
        )


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and dicts as plain JSON/YAML data; None fields left out."""
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- parsing

class _Node:
    """A YAML mapping being read, with its field path for error messages."""

    def __init__(self, data: Any, path: str, filename: str):
        self.filename = filename
        self.path = path
        if not isinstance(data, dict):
            self.fail(f"must be a mapping, got {_kind(data)}")
        self.data = data
        self.used: set[str] = set()

    def fail(self, message: str, key: str | None = None) -> None:
        where = self._join(key) if key is not None else self.path
        raise ScenarioError(f"{self.filename}: {where}: {message}" if where else f"{self.filename}: {message}")

    def _join(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                self.fail("missing required field", key)
            return default
        return self.data[key]

    def has(self, key: str) -> bool:
        return key in self.data

    def child(self, key: str) -> "_Node":
        return _Node(self.raw(key), self._join(key), self.filename)

    def text(self, key: str, default: Any = ...) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"must be a non-empty string, got {_kind(value)}", key)
        return value.strip()

    def number(self, key: str, default: Any = ..., *, low: float | None = None,
               low_open: bool = False, high: float | None = None, high_open: bool = False) -> float:
        value = self.raw(key, default)
        return _check_number(value, self, key, low, low_open, high, high_open)

    def integer(self, key: str, default: Any = ..., *, low: int | None = None) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"must be a whole number, got {_kind(value)}", key)
        if low is not None and value < low:
            self.fail(f"must be >= {low}, got {limits.show_number(value)}", key)
        problem = limits.check_value(self._join(key), value)
        if problem:
            self.fail(problem, key)
        return value

    def boolean(self, key: str, default: Any = ...) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            self.fail(f"must be true or false, got {_kind(value)}", key)
        return value

    def items(self, key: str) -> list[tuple[str, Any]]:
        """Entries of a non-empty list field, each with its own path."""
        value = self.raw(key)
        if not isinstance(value, list) or not value:
            self.fail(f"must be a non-empty list, got {_kind(value)}", key)
        most = limits.COUNT_LIMITS.get(_INDEX.sub("[]", self._join(key)))
        if most is not None and len(value) > most:
            self.fail(f"at most {most} entries, got {len(value)}", key)
        return [(f"{self._join(key)}[{i}]", item) for i, item in enumerate(value)]

    def finish(self) -> None:
        """Refuse keys the schema does not know (usually a typo)."""
        unknown = sorted(set(map(str, self.data)) - self.used)
        if unknown:
            self.fail(f"unknown field (known: {', '.join(sorted(self.used))})", unknown[0])


_INDEX = re.compile(r"\[\d+\]")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, (int, float)):
        return f"number {limits.show_number(value)}"
    if isinstance(value, str):
        return f"text {value!r}" if len(value) < 40 else "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _check_number(value: Any, node: _Node, key: str | int, low: float | None, low_open: bool,
                  high: float | None, high_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        node.fail(f"must be a number, got {_kind(value)}", key)
    if isinstance(value, int) and abs(value) > 1e300:
        # float() of a 400-digit integer raises OverflowError; no field wants one.
        node.fail(f"is out of range: {limits.show_number(value)}", key)
    value = float(value)
    if not math.isfinite(value):
        node.fail(f"must be a finite number, got {value}", key)
    if low is not None and (value <= low if low_open else value < low):
        node.fail(f"must be {'>' if low_open else '>='} {low:g}, got {value:g}", key)
    if high is not None and (value >= high if high_open else value > high):
        node.fail(f"must be {'<' if high_open else '<='} {high:g}, got {value:g}", key)
    problem = limits.check_value(node._join(key), value)
    if problem:
        node.fail(problem, key)
    return value


def _positive(node: _Node, key: str) -> float:
    return node.number(key, low=0.0, low_open=True)


def _gamma(node: _Node) -> GammaSpec:
    spec = GammaSpec(_positive(node, "shape"), _positive(node, "rate"))
    node.finish()
    return spec


def _beta(node: _Node) -> BetaSpec:
    spec = BetaSpec(_positive(node, "a"), _positive(node, "b"))
    node.finish()
    return spec


def _spend(node: _Node) -> SpendSpec:
    p = _positive(node, "p")
    # q > 1 keeps the mean spend p*gamma/(q-1) finite.
    q = node.number("q", low=1.0, low_open=True)
    spec = SpendSpec(p, q, _positive(node, "gamma"))
    node.finish()
    return spec


def _name(node: _Node, seen: set[str], what: str) -> str:
    name = node.text("name")
    if name in seen:
        node.fail(f"duplicate {what} name {name!r}", "name")
    seen.add(name)
    return name


def _channels(top: _Node) -> tuple[Channel, ...]:
    channels, seen = [], set()
    for path, item in top.items("channels"):
        node = _Node(item, path, top.filename)
        name = _name(node, seen, "channel")
        channels.append(Channel(
            name=name,
            label=node.text("label", name),
            ceiling=_positive(node, "ceiling"),
            efficiency=_positive(node, "efficiency"),
        ))
        node.finish()
    return tuple(channels)


def _tags(top: _Node) -> tuple[ProfileTag, ...]:
    tags, seen = [], set()
    for path, item in top.items("profile"):
        node = _Node(item, path, top.filename)
        name = _name(node, seen, "profile tag")
        values = node.raw("values")
        most = limits.COUNT_LIMITS["profile[].values"]
        if (not isinstance(values, list) or len(values) < 2
                or not all(isinstance(v, str) and v for v in values)):
            node.fail("must be a list of at least two names (quote values such as 'yes' "
                      "or '1' to keep them names)", "values")
        if len(values) > most:
            node.fail(f"at most {most} values, got {len(values)}", "values")
        if len(set(values)) != len(values):
            node.fail("values must be distinct", "values")
        tags.append(ProfileTag(name, tuple(values)))
        node.finish()
    return tuple(tags)


def _weights(node: _Node, key: str, names: tuple[str, ...], *, total: float | None) -> Any:
    """Read a list (aligned with ``names``) or mapping of non-negative weights."""
    value = node.raw(key)
    path = node._join(key)
    if isinstance(value, dict):
        unknown = sorted(set(map(str, value)) - set(names))
        if unknown:
            node.fail(f"unknown name {unknown[0]!r} (known: {', '.join(names)})", key)
        value = [value.get(n, 0.0) for n in names]
    if not isinstance(value, list) or len(value) != len(names):
        node.fail(f"must give {len(names)} weights, one for each of {', '.join(names)}", key)
    holder = _Node({i: v for i, v in enumerate(value)}, path, node.filename)
    weights = tuple(_check_number(v, holder, i, 0.0, False, None, False) for i, v in enumerate(value))
    if total is not None and not math.isclose(sum(weights), total, abs_tol=1e-6):
        node.fail(f"must sum to {total:g}, got {sum(weights):.6g}", key)
    if sum(weights) <= 0:
        node.fail("must not all be zero", key)
    return weights


def _check_derived(node: _Node, kind: CustomerType, most_service: float) -> None:
    """Refuse a type whose combined numbers the engine cannot play (see sim.limits)."""
    from scipy import special  # only here: scenario reading otherwise needs no scipy

    rate = kind.purchase_rate
    checks = [("purchase_rate", "mean purchase rate", rate.mean),
              ("spend", "mean spend", kind.spend.mean)]
    if kind.dropout_rate is not None:
        checks.append(("dropout_rate", "mean dropout rate", kind.dropout_rate.mean))
    if kind.referral_rate is not None:
        checks.append(("referral_rate", "mean referral rate", kind.referral_rate.mean))
    # The 1-in-10^7 customer's rate with everything service can add.
    busiest = float(special.gammaincinv(rate.shape, 1.0 - 1e-7)) / rate.rate
    busiest *= 1.0 + most_service * kind.service_response
    checks.append(("purchase_rate", "busiest customer", busiest))
    for key, name, value in checks:
        problem = limits.DERIVED_LIMITS[name].problem(value)
        if problem:
            node.fail(f"{name} ({limits.DERIVED_LIMITS[name].why}) {problem}", key)


def _referrals(node: _Node) -> Referrals:
    spec = Referrals(
        like_share=node.number("like_share", low=0.0, high=1.0),
        spend_link=node.number("spend_link", 0.0, low=-1.0, low_open=True, high=1.0,
                               high_open=True),
        service_boost=node.number("service_boost", 0.0, low=0.0),
    )
    node.finish()
    return spec


def _check_referral_chain(top: _Node, scenario: Scenario) -> None:
    """Refuse referrals whose chains (friends of friends ...) would not die out."""
    from .referral_chain import chain_growth  # scipy only for scenarios with referrals

    growth = chain_growth(scenario)
    problem = limits.DERIVED_LIMITS["referral chain"].problem(growth)
    if problem:
        top.fail(f"referral chain ({limits.DERIVED_LIMITS['referral chain'].why}) {problem}",
                 "referrals")


def _check_memory(key: str, prospects: int, turn_columns: int,
                  profile: tuple[ProfileTag, ...]) -> None:
    problem = limits.check_game_memory(prospects, turn_columns, len(profile),
                                       max((len(t.values) for t in profile), default=0))
    if problem:
        raise ScenarioError(f"{key}: prospects: {problem}")


def _types(top: _Node, channels: tuple[Channel, ...], tags: tuple[ProfileTag, ...],
           contractual: bool, most_service: float,
           has_referrals: bool = False) -> tuple[CustomerType, ...]:
    types, seen = [], set()
    channel_names = tuple(c.name for c in channels)
    for path, item in top.items("types"):
        node = _Node(item, path, top.filename)
        name = _name(node, seen, "type")
        weight = node.number("weight", low=0.0, low_open=True, high=1.0)
        dropout = _gamma(node.child("dropout_rate")) if node.has("dropout_rate") else None
        churn = _beta(node.child("churn_probability")) if node.has("churn_probability") else None
        referral_rate = (_gamma(node.child("referral_rate")) if node.has("referral_rate")
                         else None)
        if referral_rate is not None and not has_referrals:
            node.fail("needs the scenario's referrals block (like_share, spend_link, "
                      "service_boost)", "referral_rate")
        if (dropout is None) == (churn is None):
            node.fail("give exactly one of dropout_rate (Gamma) or churn_probability (Beta)")
        if churn is not None and not contractual:
            node.fail("churn_probability needs a contractual scenario", "churn_probability")
        profile_node = node.child("profile")
        profile = {}
        for tag in tags:
            profile[tag.name] = _weights(profile_node, tag.name, tag.values, total=1.0)
        profile_node.finish()
        affinity = _weights(node, "channel_affinity", channel_names, total=None)
        types.append(CustomerType(
            name=name,
            weight=weight,
            purchase_rate=_gamma(node.child("purchase_rate")),
            dropout_rate=dropout,
            churn_probability=churn,
            spend=_spend(node.child("spend")),
            cost_to_serve=_beta(node.child("cost_to_serve")),
            service_response=node.number("service_response", low=0.0),
            channel_affinity=dict(zip(channel_names, affinity)),
            profile=profile,
            referral_rate=referral_rate,
        ))
        _check_derived(node, types[-1], most_service)
        node.finish()
    total = sum(t.weight for t in types)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        top.fail(f"weights must sum to 1, got {total:.6g}", "types")
    return tuple(types)


def parse_scenario(data: Any, filename: str, key: str | None = None) -> Scenario:
    """Validate parsed YAML and build a ``Scenario``.

    Args:
        data: the parsed YAML document.
        filename: shown at the start of every error message.
        key: the scenario's short name; defaults to the file's stem.

    Raises:
        ScenarioError: naming the file and the field path of the first problem.
    """
    if data is None:
        raise ScenarioError(f"{filename}: the file is empty")
    top = _Node(data, "", filename)
    channels = _channels(top)
    tags = _tags(top)
    contractual = top.boolean("contractual", False)
    service_node = top.child("service")
    service = ServiceResponse(
        g_max=_positive(service_node, "g_max"),
        half_saturation=_positive(service_node, "half_saturation"),
        hill=service_node.number("hill", low=1.0),
        purchase_boost=service_node.number("purchase_boost", low=0.0),
    )
    service_node.finish()
    referrals = _referrals(top.child("referrals")) if top.has("referrals") else None
    types = _types(top, channels, tags, contractual, service.purchase_boost * service.g_max,
                   referrals is not None)

    budget_node = top.child("budget")
    budget = Budget(budget_node.number("marketing", low=0.0))
    budget_node.finish()

    dis_node = top.child("disengage")
    disengage = Disengagement(
        purchase_multiplier=dis_node.number("purchase_multiplier", low=0.0, low_open=True, high=1.0),
        dropout_multiplier=dis_node.number("dropout_multiplier", low=1.0),
        cost_to_serve_factor=dis_node.number("cost_to_serve_factor", low=0.0, high=1.0),
    )
    dis_node.finish()

    inh_node = top.child("inherited")
    inherited_spend = _weights(inh_node, "acquisition", tuple(c.name for c in channels), total=None)
    inherited = InheritedPolicy(
        acquisition=dict(zip((c.name for c in channels), inherited_spend)),
        service=inh_node.number("service", low=0.0),
    )
    inh_node.finish()

    scenario = Scenario(
        key=key or Path(filename).stem,
        name=top.text("name"),
        business=top.text("business"),
        briefing=top.text("briefing"),
        lesson=top.text("lesson"),
        turn_length=top.text("turn_length"),
        turns=top.integer("turns", low=1),
        warmup_turns=top.integer("warmup_turns", low=1),
        prospects=top.integer("prospects", low=100),
        discount_rate=top.number("discount_rate", low=0.0, high=1.0, high_open=True),
        gross_margin=top.number("gross_margin", low=0.0, low_open=True, high=1.0),
        fixed_cost=top.number("fixed_cost", low=0.0),
        contractual=contractual,
        membership_fee=top.number("membership_fee", 0.0, low=0.0),
        incident_cost_shape=top.number("incident_cost_shape", 2.0, low=0.0, low_open=True),
        budget=budget,
        service=service,
        disengage=disengage,
        inherited=inherited,
        channels=channels,
        profile=tags,
        types=types,
        referrals=referrals,
    )
    if scenario.membership_fee > 0 and not contractual:
        top.fail("a membership fee needs a contractual scenario", "membership_fee")
    if referrals is not None:
        if "referral" in scenario.channel_names:
            top.fail("the name 'referral' is the referral channel's when the scenario has "
                     "referrals", "channels")
        _check_referral_chain(top, scenario)
    top.finish()
    return scenario


def resolve_scenario_path(source: str | Path) -> Path | Traversable:
    """A path as given, or the shipped scenario of that name (``coffee``).

    Shipped scenarios are read from the installed package data (see
    :mod:`sim._shipped`), so a name works from any folder and from a wheel.
    A folder in the current directory never hides a shipped name (a folder
    called ``coffee`` is not the coffee scenario).

    Raises:
        ScenarioError: neither a file nor a shipped name; lists the shipped names.
    """
    if not isinstance(source, (str, Path)):
        raise ScenarioError(f"scenario: expected a file path or a shipped name, got "
                            f"{type(source).__name__}")
    if not str(source).strip():
        raise ScenarioError("scenario: the name is empty (a file path or a shipped name)")
    path = Path(source)
    try:
        is_folder = path.is_dir()
        if path.exists() and not is_folder:
            return path     # a file, or something the reader refuses by name (a FIFO, a device)
    except (OSError, ValueError):
        return path         # the reader names what is wrong
    if _SHIPPED_NAME.fullmatch(str(source)):
        shipped = shipped_folder("scenarios") / f"{source}{_SUFFIX}"
        if shipped.is_file():
            return shipped
    names = ", ".join(shipped_scenario_names())
    if is_folder:
        raise ScenarioError(f"{source}: is a folder, not a scenario file, and no shipped "
                            f"scenario has that name (shipped: {names})")
    raise ScenarioError(f"{source}: no such file and no shipped scenario of that name (shipped: {names})")


#: What a shipped scenario's name looks like (never a path).
_SHIPPED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _resolvers() -> dict:
    """YAML 1.1's implicit types, changed to read what a person means.

    ``yes``/``no``/``on``/``off`` stay text (a tag value ``no`` is a name,
    not False): only true/false are booleans.  ``4e-5``, which YAML 1.1
    reads as text for want of a dot, is a number.
    """
    table = {first: [(tag, rx) for tag, rx in entries if tag != "tag:yaml.org,2002:bool"]
             for first, entries in _BaseLoader.yaml_implicit_resolvers.items()}
    boolean = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
    exponent = re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$")
    for first in "tTfF":
        table.setdefault(first, []).append(("tag:yaml.org,2002:bool", boolean))
    for first in "-+0123456789":
        table.setdefault(first, []).append(("tag:yaml.org,2002:float", exponent))
    return table


class _ScenarioLoader(_BaseLoader):
    """Safe YAML (libyaml's parser when installed) that refuses duplicate keys."""

    yaml_implicit_resolvers = _resolvers()

    def construct_mapping(self, node, deep=False):
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = key_node.value
            if key in first_line:
                # YAML would silently keep the last one: `turns: 12` then `turns: 3` plays 3.
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {first_line[key]})",
                    key_node.start_mark)
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _check_shape(text: str) -> None:
    """Refuse pathological nesting or size before composing the document.

    libyaml composes nodes recursively in C: a few hundred thousand nested
    brackets crash the interpreter, so depth is checked on the event stream
    first (cheap: events carry no Python objects).

    Raises:
        yaml.YAMLError: with the position of the first node over a limit.
    """
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            depth, nodes = _count_event(event, depth, nodes)
    except yaml.MarkedYAMLError as exc:
        # Newer libyaml scanners stop deep flow nesting themselves, ahead of
        # the events: report it as the same limit.
        if "nesting depth" in str(exc.problem):
            line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
            raise yaml.YAMLError(f"nested deeper than {limits.MAX_YAML_DEPTH} levels at line "
                                 f"{line}") from None
        raise


def _count_event(event, depth: int, nodes: int) -> tuple[int, int]:
    """Depth and node count after one YAML event; a YAMLError past a limit."""
    if isinstance(event, yaml.CollectionStartEvent):
        depth += 1
        if depth > limits.MAX_YAML_DEPTH:
            raise yaml.YAMLError(f"nested deeper than {limits.MAX_YAML_DEPTH} levels at line "
                                 f"{event.start_mark.line + 1}")
    elif isinstance(event, yaml.CollectionEndEvent):
        depth -= 1
    if isinstance(event, (yaml.NodeEvent, yaml.CollectionStartEvent)):
        nodes += 1
        if nodes > limits.MAX_YAML_NODES:
            raise yaml.YAMLError(f"more than {limits.MAX_YAML_NODES:,} entries (at line "
                                 f"{event.start_mark.line + 1}); a scenario has a few hundred")
    return depth, nodes


def load_scenario(source: str | Path) -> Scenario:
    """Load and validate a scenario from a path or a shipped scenario's name.

    Also refuses a scenario whose game would not fit in the memory available
    (:func:`sim.limits.check_game_memory`).

    Raises:
        ScenarioError: the file is missing, not a regular file, larger than
            ``sim.limits.MAX_SCENARIO_BYTES``, unreadable, not YAML, empty,
            invalid, has a duplicate key, an unsafe tag, pathological
            nesting, or is too big to play here.
    """
    path = resolve_scenario_path(source)
    if isinstance(path, Path):
        text = read_capped_text(path, limits.MAX_SCENARIO_BYTES, "a scenario", ScenarioError,
                                display_name(path))
    else:
        # Shipped with the package (inside a wheel, say): not a user's file.
        text = path.read_text(encoding="utf-8")
    try:
        _check_shape(text)
        data = yaml.load(text, Loader=_ScenarioLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "could not determine a constructor" in problem:
            tag = problem.split("tag", 1)[-1].strip()
            problem = f"tag {tag} is not allowed (a scenario holds plain data only)"
        raise ScenarioError(f"{path.name}: not valid YAML{where}: {problem}") from None
    except ValueError as exc:
        # e.g. an integer of over 4300 digits, which Python refuses to convert.
        raise ScenarioError(f"{path.name}: not valid YAML: {exc}") from None
    # Traversable has no .stem: the key is the file name without its suffix.
    scenario = parse_scenario(data, path.name, key=Path(path.name).stem)
    _check_memory(path.name, scenario.prospects, scenario.warmup_turns + scenario.turns,
                  scenario.profile)
    return scenario


def shipped_scenario_names() -> list[str]:
    """Names of the shipped scenarios (``scenarios/*.yaml``), sorted."""
    folder = shipped_folder("scenarios")
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(_SUFFIX)] for p in folder.iterdir()
                  if p.name.endswith(_SUFFIX) and p.is_file())
