"""The fields a tier rule can use, in the player's words: label, meaning, unit, kind.

Every observable column (``Observation.columns``: channel, profile tags,
behaviour so far) and the lab's score columns has a readable label
("Predicted CLV", never ``predicted_clv``) and a sentence saying what it is
and in what unit; categorical fields (the channel and each profile tag)
list their values.  Rules are described with the same words
(``rule_text``).  Nothing here imports pygame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..session import lab_columns

#: name -> (label, what it is and its unit).  The lab's columns first.
NUMERIC: dict[str, tuple[str, str]] = {
    "predicted_clv": ("Predicted CLV", "The lab's predicted customer lifetime value: the customer's "
                      "expected discounted future margin, dollars. Needs fitted models."),
    "horizon_value": ("Next-turn value", "The lab's expected margin from the customer in the next "
                      "turn (purchases x spend x margin, less cost to serve), dollars. Needs fitted models."),
    "p_alive": ("P(alive)", "The lab's probability that the customer is still a customer, 0 to 1 "
                "(0.8 = 80%). Needs fitted models."),
    "expected_purchases": ("Expected purchases", "The lab's expected number of purchases by the "
                           "customer next turn. Needs fitted models."),
    "profit": ("Profit so far", "Gross margin on the customer's purchases (and fees) less their "
               "cost to serve, since they joined, dollars (service spend not counted)."),
    "profit_per_turn": ("Profit per turn", "Profit so far divided by the turns since the customer "
                        "joined (at least one), dollars per turn."),
    "recency": ("Recency", "Turns since the customer's latest purchase (0 = bought at the very end "
                "of last turn; larger = longer ago)."),
    "purchases": ("Purchases", "Purchases so far, the first one included (a count)."),
    "frequency": ("Repeat purchases", "Purchases after the first (a count): what the models call "
                  "frequency."),
    "monetary": ("Spend per purchase", "Mean dollars per purchase so far."),
    "total_spend": ("Total spend", "All the customer's purchases so far, dollars."),
    "total_cost_to_serve": ("Cost to serve so far", "What serving the customer (returns, support) "
                            "has cost the firm so far, dollars."),
    "last_turn_purchases": ("Purchases last turn", "Purchases in the latest turn (a count)."),
    "last_turn_spend": ("Spend last turn", "Dollars the customer spent in the latest turn."),
    "age": ("Turns as a customer", "Turns since the customer was acquired."),
    "acquisition_turn": ("Turn acquired", "The turn the customer was acquired (0 or less: before "
                         "you took over)."),
    "predicted_crv": ("Predicted CRV", "The lab's predicted customer referral value: expected "
                      "referrals per turn x expected discounted turns still a customer x the value "
                      "of a friend they bring, dollars. Games with referrals; needs fitted models."),
    "predicted_clv_crv": ("CLV + CRV", "The lab's predicted CLV plus predicted CRV: what the "
                          "customer is worth counting the friends they bring, dollars. Games with "
                          "referrals; needs fitted models."),
    "expected_referrals": ("Expected referrals", "The lab's expected friends the customer brings "
                           "per turn (referral model). Games with referrals; needs fitted models."),
    "referrals": ("Referrals so far", "Friends the customer has brought who joined (a count). "
                  "Games with referrals."),
    "active": ("Active member", "1 while the customer is a paying member, 0 once they cancelled "
               "(contractual businesses; elsewhere always 1)."),
}
#: Columns that make no sense in a rule.
HIDDEN = ("customer_id",)


@dataclass(frozen=True)
class Field:
    """One field a rule can use.

    Attributes:
        name: the column's name in the observation (or the lab's score).
        label: what the player reads.
        help: what it is, and its unit.
        values: the value names of a categorical field (None: numeric).
        value_labels: what the player reads for each value.
        lab: True for the lab's score columns (need fitted models).
    """

    name: str
    label: str
    help: str
    values: tuple[str, ...] | None = None
    value_labels: tuple[str, ...] | None = None
    lab: bool = False

    @property
    def categorical(self) -> bool:
        return self.values is not None

    def value_label(self, value: Any) -> str:
        if self.values is not None and value in self.values:
            return self.value_labels[self.values.index(value)]
        return str(value)


def words(name: str) -> str:
    """A column or value name as words: "business_district" -> "business district"."""
    return name.replace("_", " ")


class Catalogue:
    """The fields of one business's observation (and the lab's scores), in the player's words.

    Args:
        public: the public scenario (channels and their labels, profile tags).
        columns: the observation's column names (order kept).
        lab: whether the lab's score columns are available (models fitted).
    """

    def __init__(self, public, columns, lab: bool = True):
        fields: list[Field] = []
        if lab:
            fields += [Field(n, *NUMERIC[n], lab=True)
                       for n in lab_columns(getattr(public, "has_referrals", False))]
        channels = public.channels
        fields.append(Field("channel", "Channel", "The acquisition channel that brought the "
                            "customer (one of the business's channels).",
                            tuple(c.name for c in channels), tuple(c.label for c in channels)))
        for tag in public.profile:
            fields.append(Field(tag.name, words(tag.name).capitalize(),
                                f"A profile tag the firm records when the customer joins: "
                                f"{', '.join(words(v) for v in tag.values)}.",
                                tuple(tag.values), tuple(words(v) for v in tag.values)))
        known = {f.name for f in fields}
        for name in columns:
            if name in known or name in HIDDEN:
                continue
            label, help_ = NUMERIC.get(name, (words(name).capitalize(), f"The observed column {name}."))
            if name == "active" and not public.contractual:
                continue        # always 1 outside contractual businesses: no use in a rule
            fields.append(Field(name, label, help_))
            known.add(name)
        self.fields = tuple(fields)
        self.by_name = {f.name: f for f in fields}

    def label(self, name: str) -> str:
        field = self.by_name.get(name)
        return field.label if field else (NUMERIC[name][0] if name in NUMERIC else words(name))

    def get(self, name: str) -> Field | None:
        return self.by_name.get(name)


#: Operators by kind of field: (what the player reads, the rule's operator).
NUMERIC_OPS = (("top %", "top"), ("bottom %", "bottom"), ("at least (>=)", ">="),
               ("more than (>)", ">"), ("at most (<=)", "<="), ("less than (<)", "<"),
               ("equal to (==)", "=="), ("not equal to (!=)", "!="))
CATEGORY_OPS = (("is", "=="), ("is not", "!="), ("is one of", "in"), ("is none of", "not in"))
_OP_WORDS = {"==": "is", "!=": "is not", "in": "is one of", "not in": "is none of"}
_NUMBER_OPS = {">=": ">=", ">": ">", "<=": "<=", "<": "<", "==": "=", "!=": "≠"}


def _number(value: Any) -> str:
    return f"{value:,.4g}" if isinstance(value, (int, float)) else str(value)


def rule_text(rule: Any, catalogue: Catalogue | None = None) -> str:
    """A rule in the player's words: "top 10% by Predicted CLV", "First impression is keen"."""
    def label(name):
        return catalogue.label(name) if catalogue else words(str(name))

    if rule == "all" or rule is True:
        return "everyone"
    if not isinstance(rule, dict):
        return str(rule)
    if ("top" in rule or "bottom" in rule) and "by" in rule:
        side = "top" if "top" in rule else "bottom"
        return f"{side} {100 * rule[side]:g}% by {label(rule['by'])}"
    if {"field", "op", "value"} <= set(rule):
        name, op, value = rule["field"], rule["op"], rule["value"]
        field = catalogue.get(name) if catalogue else None
        if field is not None and field.categorical:
            shown = ", ".join(field.value_label(v) for v in value) if isinstance(value, list) \
                else field.value_label(value)
            return f"{field.label} {_OP_WORDS.get(op, op)} {shown}"
        if isinstance(value, list):
            return f"{label(name)} {_OP_WORDS.get(op, op)} {', '.join(_number(v) for v in value)}"
        return f"{label(name)} {_NUMBER_OPS.get(op, op)} {_number(value)}"
    for key, joiner in (("all", " and "), ("any", " or ")):
        if key in rule and isinstance(rule[key], list):
            return joiner.join(rule_text(r, catalogue) for r in rule[key])
    if "not" in rule:
        return "not (" + rule_text(rule["not"], catalogue) + ")"
    return str(rule)
