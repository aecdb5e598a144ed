"""Plausible ranges for every number a scenario holds, and the memory a game needs.

One table, :data:`FIELD_LIMITS`, maps a scenario field's path pattern to the
range ``validate`` accepts.  A path pattern is the field path as error
messages print it with list indices written ``[]`` and ``*`` standing for
one name chosen by the scenario (a profile tag's name), e.g.
``types[].purchase_rate.shape`` or ``types[].profile.*[]``.  A field added
to the model later needs only a row here (``tests/test_hostile_scenarios.py``
checks that every number in the shipped scenarios has one).

The ranges admit the shipped scenarios with room to spare (an instructor's
plausible business) and keep everything the engine computes finite:

=================================  ===================  ========================================
field                              range                why
=================================  ===================  ========================================
turns                              1 .. 60              a game of 5 years of months at most
warmup_turns                       1 .. 24              history before turn 1
prospects                          100 .. 5,000,000     design: 10k-5M; 100 for miniatures
discount_rate                      0.0001 .. 0.5        per turn; > 0 keeps customer equity finite
gross_margin                       (0, 1]               share of revenue
fixed_cost, budget.marketing       0 .. 1e10            dollars per turn
membership_fee                     0 .. 100,000         dollars per member per turn
incident_cost_shape                0.05 .. 100          Gamma shape of one incident's cost
service.g_max                      (0, 5]               most service can do (in units of theta)
service.half_saturation            0.01 .. 100,000      dollars per customer per turn
service.hill                       1 .. 8               S-curve steepness (design: ~2-3)
service.purchase_boost             0 .. 5               phi, service's effect on purchase rate
disengage.purchase_multiplier      0.01 .. 1            purchase rate x this when turned away
disengage.dropout_multiplier       1 .. 100             dropout x this when turned away
disengage.cost_to_serve_factor     0 .. 1               kappa x this when turned away
inherited.service                  0 .. 100,000         dollars per customer per turn
inherited.acquisition[]            0 .. 1e10            dollars per channel per turn
channels[].ceiling                 (0, 5,000,000]       customers per turn at most
channels[].efficiency              1e-12 .. 10          per dollar (Blattberg-Deighton k)
types[].weight                     (0, 1]               share of prospects
types[].purchase_rate.shape        0.05 .. 1000         Gamma shape of lambda
types[].purchase_rate.rate         1e-4 .. 1e4          Gamma rate of lambda (turns)
types[].dropout_rate.shape         0.05 .. 1000         Gamma shape of mu
types[].dropout_rate.rate          1e-4 .. 1e4          Gamma rate of mu (turns)
types[].churn_probability.a, .b    0.01 .. 1000         Beta parameters of per-turn churn
types[].spend.p                    0.1 .. 1000          Gamma shape of one purchase's spend
types[].spend.q                    1.5 .. 1000          > 1 for a finite mean; 1.5 tames the tail
types[].spend.gamma                1e-4 .. 1e7          Gamma rate of nu (dollars)
types[].cost_to_serve.a, .b        0.01 .. 1000         Beta parameters of kappa (per purchase)
types[].service_response           0 .. 5               theta
types[].channel_affinity[]         0 .. 1000            relative reach weights
types[].profile.*[]                0 .. 1               probabilities of a tag's values
types[].referral_rate.shape        0.05 .. 1000         Gamma shape of rho (referrals per turn)
types[].referral_rate.rate         0.01 .. 1e6          Gamma rate of rho (turns)
referrals.like_share               0 .. 1               share of referrals of the referrer's type
referrals.spend_link               -0.9 .. 0.9          copula correlation of rho with mean spend
referrals.service_boost            0 .. 5               psi, service's effect on rho
=================================  ===================  ========================================

Derived limits (:data:`DERIVED_LIMITS`), checked once a type is read: a
type's mean purchase rate shape/rate is 0.001 .. 100 purchases per turn, its
mean dropout rate at most 20 per turn, its mean spend p*gamma/(q-1) is
$0.01 .. $100,000 per purchase, and its busiest customer (the 1-in-10^7
purchase rate, with the most service can add) makes at most 1,000 purchases
a turn (the engine's per-turn work and its spend tables grow with that).
A type's mean referral rate is at most 2 referrals per turn, and the
referral chain (the largest eigenvalue of the discounted friends each
referred customer brings, over the types; see sim/referral_value.py) is at
most 0.9, so chains of referrals die out and their value is finite.

Decisions (:data:`DECISION_LIMITS`): a tier's ``holdout`` (the share of its
customers held out as a control) is 0 .. 0.9; a control of more than 90%
leaves too few treated customers to learn anything.

Counts (:data:`COUNT_LIMITS`): at most 20 channels (int8 channel codes), 10
profile tags of 2 .. 32 values each (int8 tag codes), 20 types (int16 type
codes).  Turns plus warm-up turns are at most 84 (int16 turn numbers).  So
no integer array of the engine can overflow.

Memory: :func:`game_memory_bytes` estimates the bytes one game needs from
the prospect count, the turn columns and the profile, before anything is
allocated, and :func:`check_game_memory` refuses a game that would not fit
in the memory available.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

__all__ = ["Limit", "FIELD_LIMITS", "DECISION_LIMITS", "DERIVED_LIMITS", "COUNT_LIMITS", "MAX_YAML_DEPTH",
           "MAX_YAML_NODES", "MAX_SCENARIO_BYTES", "limit_for", "check_value", "game_memory_bytes",
           "available_memory_bytes", "check_game_memory", "markdown_table", "show_number"]


@dataclass(frozen=True)
class Limit:
    """An accepted range of one number.

    Attributes:
        low: smallest value allowed (or the open bound if ``low_open``).
        high: largest value allowed (or the open bound if ``high_open``).
        low_open: True if ``low`` itself is refused.
        high_open: True if ``high`` itself is refused.
        why: the unit and the reason for the range, shown in the docs.
    """

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    why: str = ""

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range, or None if it is in range."""
        got = show_number(value)
        if self.low_open and value <= self.low or not self.low_open and value < self.low:
            return f"must be {'>' if self.low_open else '>='} {show_number(self.low)}, got {got}"
        if self.high_open and value >= self.high or not self.high_open and value > self.high:
            return f"must be {'<' if self.high_open else '<='} {show_number(self.high)}, got {got}"
        return None

    def describe(self) -> str:
        return (f"{'(' if self.low_open else '['}{show_number(self.low)}, "
                f"{show_number(self.high)}{')' if self.high_open else ']'}")


def show_number(value: float) -> str:
    """A number as people write it (5000000, 0.0001, 1e+10); huge integers by their length."""
    if isinstance(value, int) and abs(value) >= 10 ** 16:
        try:
            return f"a number of {len(str(abs(value)))} digits"
        except ValueError:  # Python refuses str() of ints over 4300 digits
            return f"a number of about {int(abs(value).bit_length() * math.log10(2)) + 1} digits"
    return f"{value:g}" if isinstance(value, float) else str(value)


_DOLLARS = 1e10
FIELD_LIMITS: dict[str, Limit] = {
    "turns": Limit(1, 60, why="turns in a game"),
    "warmup_turns": Limit(1, 24, why="turns of history before turn 1"),
    "prospects": Limit(100, 5_000_000, why="size of the prospect pool (docs/design.md: 10k-5M)"),
    "discount_rate": Limit(0.0001, 0.5, why="per turn; > 0 keeps customer equity finite"),
    "gross_margin": Limit(0.0, 1.0, low_open=True, why="share of revenue"),
    "fixed_cost": Limit(0.0, _DOLLARS, why="dollars per turn"),
    "membership_fee": Limit(0.0, 100_000.0, why="dollars per member per turn"),
    "budget.marketing": Limit(0.0, _DOLLARS, why="dollars per turn, acquisition plus service"),
    "incident_cost_shape": Limit(0.05, 100.0,
                                 why="Gamma shape of one incident's cost (CV = 1/sqrt(shape))"),
    "service.g_max": Limit(0.0, 5.0, low_open=True, why="largest service effect, in units of theta"),
    "service.half_saturation": Limit(0.01, 100_000.0,
                                     why="dollars per customer per turn for half the effect"),
    "service.hill": Limit(1.0, 8.0, why="steepness of the S-shaped response"),
    "service.purchase_boost": Limit(0.0, 5.0, why="phi: service's effect on the purchase rate"),
    "disengage.purchase_multiplier": Limit(0.01, 1.0, why="purchase rate x this when turned away"),
    "disengage.dropout_multiplier": Limit(1.0, 100.0, why="dropout x this when turned away"),
    "disengage.cost_to_serve_factor": Limit(0.0, 1.0,
                                            why="kappa x this when turned away (privileges withdrawn)"),
    "inherited.service": Limit(0.0, 100_000.0, why="dollars per customer per turn"),
    "inherited.acquisition[]": Limit(0.0, _DOLLARS, why="dollars per channel per turn"),
    "channels[].ceiling": Limit(0.0, 5_000_000.0, low_open=True, why="most customers per turn"),
    "channels[].efficiency": Limit(1e-12, 10.0, why="Blattberg-Deighton k, per dollar"),
    "types[].weight": Limit(0.0, 1.0, low_open=True, why="share of prospects"),
    "types[].purchase_rate.shape": Limit(0.05, 1000.0, why="Gamma shape of lambda"),
    "types[].purchase_rate.rate": Limit(1e-4, 1e4, why="Gamma rate of lambda, turns"),
    "types[].dropout_rate.shape": Limit(0.05, 1000.0, why="Gamma shape of mu"),
    "types[].dropout_rate.rate": Limit(1e-4, 1e4, why="Gamma rate of mu, turns"),
    "types[].churn_probability.a": Limit(0.01, 1000.0, why="Beta a of per-turn churn"),
    "types[].churn_probability.b": Limit(0.01, 1000.0, why="Beta b of per-turn churn"),
    "types[].spend.p": Limit(0.1, 1000.0, why="Gamma shape of one purchase's spend"),
    "types[].spend.q": Limit(1.5, 1000.0, why="> 1 for a finite mean; 1.5 tames the tail"),
    "types[].spend.gamma": Limit(1e-4, 1e7, why="Gamma rate of nu, dollars"),
    "types[].cost_to_serve.a": Limit(0.01, 1000.0, why="Beta a of the cost-to-serve share"),
    "types[].cost_to_serve.b": Limit(0.01, 1000.0, why="Beta b of the cost-to-serve share"),
    "types[].service_response": Limit(0.0, 5.0, why="theta, response to service"),
    "types[].channel_affinity[]": Limit(0.0, 1000.0, why="relative reach weight"),
    "types[].profile.*[]": Limit(0.0, 1.0, why="probability of one value of the tag"),
    "types[].referral_rate.shape": Limit(0.05, 1000.0,
                                         why="Gamma shape of rho, the referral rate"),
    "types[].referral_rate.rate": Limit(1e-2, 1e6, why="Gamma rate of rho, turns"),
    "referrals.like_share": Limit(0.0, 1.0,
                                  why="share of referrals bringing the referrer's own type"),
    "referrals.spend_link": Limit(-0.9, 0.9,
                                  why="copula correlation of referral rate and mean spend"),
    "referrals.service_boost": Limit(0.0, 5.0,
                                     why="psi: service's effect on the referral rate"),
}

#: Ranges of the numbers a decision holds (paths as ``Decision.from_dict`` names them).
DECISION_LIMITS: dict[str, Limit] = {
    "tiers[].holdout": Limit(0.0, 0.9, why="share of the tier's customers held out as a control "
                                            "(no service, not turned away, no cost); 0 = no test"),
}

#: Limits on quantities computed from several fields of one type.
DERIVED_LIMITS: dict[str, Limit] = {
    "mean purchase rate": Limit(0.001, 100.0, why="purchases per turn, shape / rate"),
    "mean dropout rate": Limit(0.0, 20.0, why="deaths per turn, shape / rate"),
    "mean spend": Limit(0.01, 100_000.0, why="dollars per purchase, p * gamma / (q - 1)"),
    "busiest customer": Limit(0.0, 1000.0,
                              why="purchases per turn of the 1-in-10^7 customer at full service"),
    "mean referral rate": Limit(0.0, 2.0, why="referrals per turn alive, shape / rate"),
    "referral chain": Limit(0.0, 0.9, why="discounted friends each referred customer brings, "
                                          "largest eigenvalue over the types"),
}

#: Most entries of a list field (or, for ``turn columns``, turns + warm-up turns).
COUNT_LIMITS: dict[str, int] = {
    "channels": 20,        # int8 channel codes in the engine
    "profile": 10,
    "profile[].values": 32,  # int8 tag codes
    "types": 20,           # int16 type codes
    "turn columns": 84,    # int16 turn numbers; turns + warmup_turns
}
#: Deepest nesting of YAML collections a scenario may have (a real one has 5).
MAX_YAML_DEPTH = 32
#: Most YAML nodes a scenario may have (a real one has about 500).
MAX_YAML_NODES = 200_000
#: Most bytes of a scenario file (a shipped one has about 4 KB; this leaves
#: room for a briefing of a few thousand pages).
MAX_SCENARIO_BYTES = 8 * 1024 * 1024

_PATTERNS = [(re.compile("^" + re.escape(pattern).replace(r"\*", r"[^.\[\]]+") + "$"), limit)
             for pattern, limit in FIELD_LIMITS.items()]
_INDEX = re.compile(r"\[\d+\]")


def limit_for(path: str) -> Limit | None:
    """The limit of a field path such as ``types[2].spend.q``, or None if it has no row."""
    general = _INDEX.sub("[]", path)
    for pattern, limit in _PATTERNS:
        if pattern.match(general):
            return limit
    return None


def check_value(path: str, value: int | float) -> str | None:
    """Why ``value`` is out of the range of the field at ``path``, or None."""
    limit = limit_for(path)
    return None if limit is None else limit.problem(value)


# ------------------------------------------------------------------ memory

#: Bytes per prospect whatever the turns: latent traits (6 floats, int16
#: type), the engine's pool flags and row index, the per-customer row arrays
#: (78 bytes), a turn's temporaries over every alive customer (~15 float
#: arrays and 4 full-pool uniform draws), acquisition's race keys, the
#: observation's copies and a strategy's own columns.  Measured peak: about
#: 600 bytes per prospect for coffee at 200,000 prospects; this is ~1.6x that.
_BYTES_PER_PROSPECT = 600
#: Bytes per prospect per turn column: purchases (int32), spend and cost to
#: serve (float64), the experiment arm (int8).
_BYTES_PER_CELL = 21
#: Refuse a game needing more than this share of the memory available.
MEMORY_SHARE = 0.75


def game_memory_bytes(prospects: int, turn_columns: int, tags: int = 0,
                      most_tag_values: int = 0) -> int:
    """Estimated peak bytes one game needs, before anything is allocated.

    Args:
        prospects: size of the prospect pool.
        turn_columns: warm-up turns plus turns.
        tags: number of profile tags (one byte per prospect each).
        most_tag_values: values of the largest tag (drawing its codes needs
            9 bytes per prospect per value at once).
    """
    per_prospect = (_BYTES_PER_PROSPECT + _BYTES_PER_CELL * turn_columns + 2 * tags
                    + 9 * most_tag_values)
    return int(prospects) * per_prospect


def available_memory_bytes() -> int | None:
    """Memory the system can give this process now, bytes; None if unknown.

    Linux's MemAvailable counts reclaimable cache; elsewhere the free
    physical pages.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def check_game_memory(prospects: int, turn_columns: int, tags: int = 0,
                      most_tag_values: int = 0) -> str | None:
    """Why a game of this size cannot be played here, or None if it fits."""
    needed = game_memory_bytes(prospects, turn_columns, tags, most_tag_values)
    available = available_memory_bytes()
    if available is None or needed <= MEMORY_SHARE * available:
        return None
    return (f"a game of {prospects:,} prospects and {turn_columns} turn columns needs about "
            f"{_gb(needed)} of memory; only {_gb(available)} is available "
            f"(use fewer prospects)")


def markdown_table() -> str:
    """The limits as a Markdown document (docs/scenario-limits.md is this text)."""
    lines = ["# Scenario limits", "",
             "Generated from `sim/limits.py` (`python -m sim.limits > docs/scenario-limits.md`). "
             "`ccsim validate` refuses a number outside its range, naming the field.", "",
             "| field | accepted range | unit / why |", "|---|---|---|"]
    lines += [f"| `{path}` | {limit.describe()} | {limit.why} |"
              for path, limit in FIELD_LIMITS.items()]
    lines += ["", "Derived, per type:", "", "| quantity | accepted range | unit / why |",
              "|---|---|---|"]
    lines += [f"| {name} | {limit.describe()} | {limit.why} |"
              for name, limit in DERIVED_LIMITS.items()]
    lines += ["", "Decisions (a tier's numbers; the engine, `Decision.from_dict` and records refuse "
              "a value outside its range, naming the field):", "",
              "| field | accepted range | unit / why |", "|---|---|---|"]
    lines += [f"| `{path}` | {limit.describe()} | {limit.why} |"
              for path, limit in DECISION_LIMITS.items()]
    lines += ["", "Counts:", "", "| list | at most |", "|---|---|"]
    lines += [f"| `{name}` | {count} |" for name, count in COUNT_LIMITS.items()]
    lines += ["", f"A scenario file is a regular file of at most {MAX_SCENARIO_BYTES:,} bytes; "
              f"YAML nesting at most {MAX_YAML_DEPTH} levels and {MAX_YAML_NODES:,} nodes; "
              "duplicate keys and tags other than YAML's plain types are refused.", "",
              f"Memory: a game needs about {_BYTES_PER_PROSPECT} + {_BYTES_PER_CELL} x (turns + "
              f"warm-up turns) bytes per prospect; a scenario (or `--prospects`) needing more "
              f"than {MEMORY_SHARE:.0%} of the memory available is refused, saying how much "
              f"it needs.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table(), end="")
