"""The prospect pool: latent traits and observable profiles, one array per trait.

Every prospect gets its traits once, at game start, from the scenario's
mixture of latent types (docs/design.md section 1).  Arrays are indexed by
prospect id; a customer keeps its prospect id for life.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .rng import stream
from .scenario import Scenario


@dataclass(frozen=True)
class Population:
    """Latent traits of every prospect (the truth; never shown to the player).

    Attributes:
        type_index: latent type of each prospect (index into ``scenario.types``).
        purchase_rate: lambda, purchases per turn while alive, before service.
        dropout_rate: mu, deaths per turn, before service.
        spend_shape: Gamma–Gamma p of each prospect's type.
        spend_rate: nu; mean spend per purchase is spend_shape / spend_rate dollars.
        cost_to_serve: kappa, share of the customer's revenue spent serving them.
        service_response: theta >= 0.
        tags: profile tag name -> value code per prospect.
        affinity: (types, channels) reach weight of each type in each channel.
        referral_rate: rho, referrals per turn while alive, before service;
            None when the scenario has no referrals.
    """

    type_index: np.ndarray
    purchase_rate: np.ndarray
    dropout_rate: np.ndarray
    spend_shape: np.ndarray
    spend_rate: np.ndarray
    cost_to_serve: np.ndarray
    service_response: np.ndarray
    tags: dict[str, np.ndarray]
    affinity: np.ndarray
    referral_rate: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.type_index.size

    @cached_property
    def mean_spend(self) -> np.ndarray:
        """Expected spend per purchase, dollars (p / nu); computed once, read-only."""
        # The valuations read it a few hundred times a game: a million divisions each time.
        mean = self.spend_shape / self.spend_rate
        mean.flags.writeable = False
        return mean

    @cached_property
    def prospect_weight(self) -> np.ndarray:
        """(channels, prospects) each prospect's reach weight in each channel; read-only."""
        # Acquisition races every prospect in every channel each turn: one row per
        # channel, contiguous, rather than a gather through the type each time.
        weight = np.take(self.affinity.T, self.type_index, axis=1)
        weight.flags.writeable = False
        return weight


def _per_type(scenario: Scenario, getter) -> np.ndarray:
    return np.array([getter(t) for t in scenario.types], dtype=float)


def draw_population(scenario: Scenario, seed: int) -> Population:
    """Draw the latent traits of ``scenario.prospects`` prospects.

    Each trait has its own keyed stream, so adding a trait never changes
    another one's values.
    """
    n = scenario.prospects
    types = scenario.types

    def gen(trait: int) -> np.random.Generator:
        return stream(seed, "population", 0, trait)

    cumulative = np.cumsum([t.weight for t in types])
    cumulative[-1] = 1.0
    type_index = np.searchsorted(cumulative, gen(0).random(n), side="right").astype(np.int16)

    def gamma(trait: int, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
        return gen(trait).standard_gamma(shape[type_index]) / rate[type_index]

    purchase_rate = gamma(1, _per_type(scenario, lambda t: t.purchase_rate.shape),
                          _per_type(scenario, lambda t: t.purchase_rate.rate))

    # Types give either a Gamma dropout rate or a Beta per-turn churn probability.
    has_gamma = np.array([t.dropout_rate is not None for t in types])
    d_shape = _per_type(scenario, lambda t: t.dropout_rate.shape if t.dropout_rate else 1.0)
    d_rate = _per_type(scenario, lambda t: t.dropout_rate.rate if t.dropout_rate else 1.0)
    c_a = _per_type(scenario, lambda t: t.churn_probability.a if t.churn_probability else 1.0)
    c_b = _per_type(scenario, lambda t: t.churn_probability.b if t.churn_probability else 1.0)
    dropout_rate = gamma(2, d_shape, d_rate)
    if not has_gamma.all():
        # Own stream: skipping it when unused changes no other draw.
        churn = gen(3).beta(c_a[type_index], c_b[type_index])
        # mu = -ln(1 - theta) makes the per-turn survival exp(-mu) = 1 - theta.
        beta_mu = -np.log1p(-np.minimum(churn, 1.0 - 1e-12))
        dropout_rate = np.where(has_gamma[type_index], dropout_rate, beta_mu)

    spend_shape = _per_type(scenario, lambda t: t.spend.p)[type_index]
    spend_rate = gamma(4, _per_type(scenario, lambda t: t.spend.q),
                       _per_type(scenario, lambda t: t.spend.gamma))
    cost_to_serve = gen(5).beta(_per_type(scenario, lambda t: t.cost_to_serve.a)[type_index],
                                _per_type(scenario, lambda t: t.cost_to_serve.b)[type_index])
    service_response = _per_type(scenario, lambda t: t.service_response)[type_index]

    tags = {}
    for j, tag in enumerate(scenario.profile):
        probs = np.array([t.profile[tag.name] for t in types], dtype=float)
        cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
        u = stream(seed, "profile", 0, j).random(n)
        codes = (u[:, None] >= cum[type_index]).sum(axis=1)
        tags[tag.name] = np.minimum(codes, len(tag.values) - 1).astype(np.int8)

    affinity = np.array([[t.channel_affinity[c.name] for c in scenario.channels] for t in types],
                        dtype=float)
    referral_rate = None
    if scenario.referrals is not None:
        # Own keyed stream (sim/rng.py): scenarios without referrals draw nothing more.
        from .referrals import draw_referral_rates

        referral_rate = draw_referral_rates(scenario, seed, type_index, spend_rate)
    return Population(type_index, purchase_rate, dropout_rate, spend_shape, spend_rate,
                      cost_to_serve, service_response, tags, affinity, referral_rate)
