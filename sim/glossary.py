"""The glossary: the analytics words the game uses, in plain language, with their units.

The game window shows it from every screen (F1); any report may quote it.
Each entry says what the thing is, how it is computed here, and its unit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """A glossary entry: its key, the words shown, the explanation (paragraphs), a short name."""

    key: str
    term: str
    text: str
    short: str = ""

    @property
    def name(self) -> str:
        """The short name for a list ("DERT"), or the term itself."""
        return self.short or self.term


TERMS: tuple[Term, ...] = (
    Term("clv", "CLV (customer lifetime value)",
         "What one customer is still worth to the firm: the margin on their future purchases "
         "(spend x gross margin, less their cost to serve), each future turn discounted at the "
         "business's discount rate per turn. Unit: dollars, valued at the start of the current "
         "turn.\n\nThe lab's predicted CLV = DERT x the expected spend per purchase x the margin "
         "share (for members of a subscription: the expected discounted paying turns x the fee "
         "and add-ons). It leaves out what you will spend on service and acquisition: compare it "
         "with that spend to decide who is worth serving.", "CLV"),
    Term("p_alive", "P(alive)",
         "The probability that a customer is still a customer — would still buy if the chance "
         "came — given how often they bought and how long ago their latest purchase was. "
         "Unit: a probability from 0 to 1 (shown as a percentage).\n\nIn a shop nobody announces "
         "they have left, so the Pareto/NBD model infers it: a frequent buyer who has been silent "
         "for a long time is probably gone; an occasional buyer who was silent as long may not "
         "be. In a subscription, cancellations are seen: P(alive) is 1 for members, 0 once they "
         "cancelled."),
    Term("dert", "DERT (discounted expected residual transactions)",
         "How many more purchases a customer is expected to make, each one discounted back to "
         "today: a purchase k turns from now counts 1/(1 + d)^k, d being the discount rate per "
         "turn. Unit: purchases (a count, not dollars).\n\nIt comes from the Pareto/NBD model "
         "fitted to your customers' purchase histories; multiplied by the expected spend per "
         "purchase and the margin share it gives the predicted CLV.", "DERT"),
    Term("c3", "C3 (cohort chart, the layer cake)",
         "Revenue per turn stacked by acquisition cohort: each layer is the customers acquired "
         "in one turn, so you see how much of today's revenue comes from customers won long ago "
         "and how much from recent ones. Unit: dollars of revenue per turn.\n\nThin new layers "
         "that fade fast mean acquired customers do not stay; thick old layers mean a loyal base "
         "(the oldest layer is the darkest).", "C3 (layer cake)"),
    Term("rfm", "RFM (recency, frequency, monetary value)",
         "Three plain facts about each customer: recency = turns since their latest purchase "
         "(lower is better), frequency = how many times they bought again (repeat purchases), "
         "monetary = their mean dollars per purchase (units: turns, purchases, dollars). Each is "
         "scored 1 to 5 by quintile (5 = the best fifth).\n\nThe RFM grid crosses recency and "
         "frequency scores: each cell shows the mean profit per customer (dollars, by colour) and "
         "how many customers it holds. RFM needs no model, so it works from the first turn.", "RFM"),
    Term("whale", "Whale curve (Stobachoff curve)",
         "Customers sorted from most to least profitable; the curve is the running total of "
         "their profit as a share of the firm's whole customer profit. Units: percent of "
         "customers (across), percent of profit (up).\n\nIt rises above 100% — the best "
         "customers earn more than all the profit — then falls back to 100% as the loss-making "
         "customers eat into it. The higher the peak, the more value a firm can create by "
         "serving its best customers and turning its losers away.", "Whale curve"),
    Term("half_saturation", "Half-saturation (of service)",
         "The service spend per customer per turn at which service has half its full effect "
         "on a customer who responds to it. Unit: dollars per customer per turn.\n\nThe "
         "response is S-shaped: a few dollars spread over everyone change almost nobody's "
         "behaviour; around twice the half-saturation spend a responsive customer gets most of "
         "the effect (they stay longer and buy more); beyond that each extra dollar adds "
         "little. Customers who do not respond are not moved by any amount.", "Half-saturation"),
    Term("centricity", "Centricity score",
         "How much of the possible value you found: (your firm value - mass-marketing's) / "
         "(the oracle's - mass-marketing's) x 100, all played on the same market with the same "
         "random draws. Unit: points.\n\n0 = no better than mass-marketing (equal service for "
         "everyone, the budget spread evenly over the channels); 100 = as good as an oracle that "
         "sees every customer's true worth. It can be negative: worse than mass-marketing."),
    Term("firm_value", "Firm value",
         "Your score: the profit of every turn discounted to the start of the game, plus the "
         "customer equity you leave at the end (what your remaining customers are truly worth), "
         "also discounted. Unit: dollars.\n\nSo a plan that earns little now but builds a "
         "valuable customer base can beat one that is profitable every turn and leaves nothing."),
    Term("equity", "Customer equity",
         "The sum of the CLV of all the firm's customers: what the customer base is worth. "
         "Unit: dollars.\n\nDuring the game the dashboard shows the lab's estimate of it, from "
         "your own data; the true value, from every customer's hidden traits, is revealed at "
         "the end."),
    Term("tier", "Service tier (first match wins)",
         "A group of customers you define by a rule on what you can observe (their channel, "
         "profile tags, purchases, the lab's scores), with a service spend per customer per "
         "turn (unit: dollars per customer per turn), or turned away: perks and privileges withdrawn, so they buy less, "
         "leave sooner and cost less to serve.\n\nTiers are read top to bottom and each "
         "customer joins the first tier whose rule they match: put narrow tiers (the top 2%) "
         "above broad ones (the top 20%).", "Service tier"),
)


def term(key: str) -> Term:
    """The entry called ``key`` (``KeyError`` if none)."""
    for t in TERMS:
        if t.key == key:
            return t
    raise KeyError(key)
