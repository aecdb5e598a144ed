"""The public view of a scenario: what a player or a bot may know of the business.

A scenario file holds two kinds of facts.  The firm's own facts are public:
its story, the length of a game, the budget, the channels with their labels
and published response curves, the profile tags it records, its margin,
fixed cost and discount rate, the published service response curve and the
previous management's policy.  The market's latent make-up is not: the
customer types, their shares and the distributions of their traits, and
what turning a customer away does to them.  Observations carry only a
``PublicScenario``, so no bot can read the generative model.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .scenario import Budget, Channel, InheritedPolicy, ProfileTag, Scenario, ServiceResponse


#: Display name of the referral channel (friends customers bring, at no acquisition cost).
REFERRAL_LABEL = "Referrals (friends)"

@dataclass(frozen=True, eq=True)
class PublicScenario:
    """The firm's facts of a ``Scenario`` (every field has the same meaning there).

    Attributes:
        key: the scenario's short name (file stem).
        name, business, briefing, lesson: the story shown to the player.
        turn_length: what one turn is ("quarter", "month").
        turns: turns the player decides.
        warmup_turns: turns of history before turn 1.
        prospects: size of the market (prospect pool).
        discount_rate: per turn.
        gross_margin: share of revenue kept before cost to serve.
        fixed_cost: dollars per turn.
        contractual: True where members renew and cancellations are seen.
        membership_fee: dollars per member per turn (contractual only).
        budget: most the player may spend per turn, dollars.
        service: the published service response curve (firm-wide).
        inherited: the previous management's policy.
        channels: acquisition channels with their published response.
        profile: observable profile tags and their values.
        has_referrals: True where customers bring customers (they join
            through the ``referral`` channel); how they refer is latent.
    """

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
    budget: Budget
    service: ServiceResponse
    inherited: InheritedPolicy
    channels: tuple[Channel, ...]
    profile: tuple[ProfileTag, ...]
    has_referrals: bool = False

    @classmethod
    def of(cls, scenario: Scenario) -> "PublicScenario":
        """The public view of ``scenario`` (types, disengagement, how customers refer left out)."""
        return cls(**{f.name: getattr(scenario, f.name) for f in fields(cls)})

    @property
    def channel_names(self) -> tuple[str, ...]:
        """The channels the player spends on."""
        return tuple(c.name for c in self.channels)

    @property
    def customer_channel_names(self) -> tuple[str, ...]:
        """Names of the customers' channel codes: the paid channels, then ``referral`` if any."""
        return self.channel_names + (("referral",) if self.has_referrals else ())

    @property
    def customer_channel_labels(self) -> tuple[str, ...]:
        """Display names of the customers' channel codes (``customer_channel_names``' order)."""
        return tuple(c.label for c in self.channels) + ((REFERRAL_LABEL,) if self.has_referrals
                                                       else ())

    @property
    def customer_channel_label_by_name(self) -> dict[str, str]:
        """Display name of each customer channel by its name, the referral channel included."""
        return dict(zip(self.customer_channel_names, self.customer_channel_labels))
