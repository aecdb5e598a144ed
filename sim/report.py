"""The debrief as a self-contained HTML page with PNG charts beside it (no pygame).

``write_report(debrief, folder)`` writes ``index.html`` and one PNG per chart
into ``folder``; the page uses no script, stylesheet or font from elsewhere,
so it opens offline and can be zipped and handed in.  The charts come from
``sim.charts``, the same functions the debrief screen uses, through
``debrief_figure``.  ``report_from_record`` rebuilds the debrief from a game
record: the record's decisions are replayed on its seed to get the truth.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Callable

from . import charts
from .analytics.equity import LEVEL
from .debrief import PLAYER, Debrief, debrief_of
from .output_paths import write_atomically
from .records import read_record

#: Chart size in the report, pixels (readable printed and on screen).
_SIZE = (960, 420)


def _money(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _cents(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


#: The debrief's charts, by file stem, in the order the screen offers them.
DEBRIEF_STEMS = ("firm_value", "levers", "channels", "service_by_decile", "equity", "timeline")

CAPTIONS = {
    "firm_value": "Firm value on the same market, split into the discounted profit of the turns "
                  "played and the true customer equity left at the end (discounted): a firm can "
                  "lose money every turn and still be worth the most.",
    "levers": "Each lever swapped: your acquisition with another strategy's service, and its "
              "acquisition with your service, replayed on the same draws; a bar is what your lever "
              "was worth over that strategy's.",
    "channels": "Where the acquisition money went, by channel, against the true value of the "
                "customers it bought (their first purchase and equity at acquisition, no service).",
    "service_by_decile": "Where your service money went, by decile of your customers' true value, "
                         "against where the value was.",
    "equity": "Customer equity at the end: what your data pointed to (valued the way the score "
              f"values it, with its {LEVEL:.0%} interval) against the truth.",
    "timeline": "Turn by turn: your profit against mass-marketing's, and how many of your customers "
                "were really alive (hidden during play).",
}


def _channel_yield(c) -> str:
    """A channel's value per acquisition dollar; referrals cost none, so their value per customer."""
    if c.referral:
        each = c.value_per_customer
        return "no spend" + ("" if not math.isfinite(each) else f"; {_money(each)} a customer")
    return "n/a" if not math.isfinite(c.value_per_dollar) else f"${c.value_per_dollar:,.2f}"


def debrief_figure(d: Debrief, stem: str, size_px, style: charts.ChartStyle):
    """One of the debrief's charts (``stem`` from ``DEBRIEF_STEMS``); the screen shows the same."""
    if stem == "firm_value":
        twin = d.twin
        rows = [(s.label or s.name, s.discounted_profit, s.equity_left)
                for s in d.strategies if s.name != twin]
        return charts.firm_value_chart(rows, d.player_label, size_px, style)
    if stem == "levers":
        return charts.lever_chart([lv.partner for lv in d.levers],
                                  [lv.acquisition_worth for lv in d.levers],
                                  [lv.service_worth for lv in d.levers], size_px, style)
    if stem == "channels":
        return charts.channel_chart([c.label for c in d.channels], [c.spent for c in d.channels],
                                    [c.true_value for c in d.channels], size_px, style)
    if stem == "service_by_decile":
        return charts.decile_chart(d.service_by_value_decile, d.value_by_decile, size_px, style)
    if stem == "equity":
        e = d.equity
        return charts.equity_chart(e.estimated, e.low, e.high, e.true, size_px, style)
    if stem == "timeline":
        return charts.timeline_chart([r["turn"] for r in d.turn_rows], [r["profit"] for r in d.turn_rows],
                                     list(d.mass_profit), [r["alive"] for r in d.turn_rows], size_px,
                                     style)
    raise ValueError(f"unknown debrief chart {stem!r} (known: {', '.join(DEBRIEF_STEMS)})")


def write_report(d: Debrief, folder: str | Path, palette: str = "colour-blind safe") -> Path:
    """Write ``index.html`` and the chart PNGs for debrief ``d`` into ``folder``.

    Returns:
        The path of ``index.html``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    style = charts.ChartStyle.for_size(720, palette)
    for stem in DEBRIEF_STEMS:
        charts.save_png(debrief_figure(d, stem, _SIZE, style), folder / f"{stem}.png")
    write_atomically(folder / "index.html", page(d), "the report")
    return folder / "index.html"


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        f"<td class=n>{e(c)}</td>" if i >= numeric_from else f"<td>{e(c)}</td>" for i, c in enumerate(r))
        + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(d: Debrief) -> str:
    """The report's HTML (every text escaped)."""
    e = html.escape
    score = f"{d.centricity:.0f}" if math.isfinite(d.centricity) else "n/a"
    twin = d.twin
    strategies = _table(["strategy", "firm value", "discounted profit", "customer equity left"],
                        [[s.label or s.name, _money(s.firm_value), _money(s.discounted_profit),
                          _money(s.equity_left)]
                         for s in sorted(d.strategies, key=lambda s: -s.firm_value) if s.name != twin])
    levers = _table(["partner", "its firm value", "your acquisition + its service",
                     "its acquisition + your service", "your acquisition worth",
                     "your service worth"],
                    [[lv.partner, _money(lv.partner_value), _money(lv.your_acquisition),
                      _money(lv.your_service) if lv.your_service is not None else "not measurable",
                      _money(lv.acquisition_worth),
                      _money(lv.service_worth) if lv.service_worth is not None else "not measurable"]
                     for lv in d.levers])
    channels = _table(["channel", "acquisition dollars", "customers", "true value bought",
                       "value per dollar"],
                      [[c.label, _money(c.spent), f"{c.acquired:,}", _money(c.true_value),
                        _channel_yield(c)] for c in d.channels])
    tiers = _table(["tier", "customer-turns", "customers", "service dollars", "top 30% by value",
                    "bottom half", "worth < 0"],
                   [[t.name + (" (turned away)" if t.disengaged else ""), f"{t.customer_turns:,}",
                     f"{t.customers:,}", _money(t.dollars), f"{t.top30_share:.0%}",
                     f"{t.bottom_half_share:.0%}", f"{t.negative_share:.0%}"] for t in d.tiers])
    turn_rows = _table(["turn", "acquired", "buyers", "revenue", "acquisition", "service", "profit",
                        "really alive", "really lost"],
                       [[str(r["turn"]), f"{r['acquired']:,}", f"{r['buyers']:,}", _money(r["revenue"]),
                         _money(r["acquisition_spend"]), _money(r["service_spend"]), _money(r["profit"]),
                         f"{r['alive']:,}", f"{r['lost']:,}"] for r in d.turn_rows], numeric_from=0)
    experiments = "" if not d.experiments else (
        "<h2>Your experiments</h2><p class=sub>Each holdout test's treated customers against its "
        f"control, profit per customer to date with its 95% Welch interval (your data only).</p>"
        + _table(["test", "treatment", "from turn", "turns", "treated", "control", "service cost",
                  "saved on controls", "profit given up", "profit lift per customer (95%)",
                  "worth on the treated"],
                 [[x.name, x.treatment, str(x.start_turn), str(x.turns_run), f"{x.treated:,}",
                   f"{x.control:,}", _money(x.cost), _money(x.saving), _money(x.lost_profit),
                   f"{_cents(x.profit_lift)} ({_cents(x.low)} to {_cents(x.high)})", _money(x.worth)]
                  for x in d.experiments], numeric_from=2)
        + "".join(f"<p>{e(x.summary)}</p>" for x in d.experiments))
    eq = d.equity
    error = "" if not math.isfinite(eq.error) else f" ({eq.error:+.0%} against the truth)"
    interval = ("" if not math.isfinite(eq.low) else
                f"; {LEVEL:.0%} interval {_money(eq.low)} to {_money(eq.high)}")
    figs = "".join(f"<figure><img src=\"{stem}.png\" alt=\"{e(CAPTIONS[stem])}\">"
                   f"<figcaption>{e(CAPTIONS[stem])}</figcaption></figure>" for stem in DEBRIEF_STEMS)
    advice = "".join(f"<li>{e(a)}</li>" for a in d.advice)
    notes = "".join(f"<p class=note>{e(n)}</p>" for n in d.notes)
    me = d.player
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Debrief: {e(d.scenario)}, {e(d.played_by)}, seed {d.seed}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #1d2733;
       line-height: 1.45; padding: 0 1em; }}
h1 {{ margin-bottom: .2em; }} .sub {{ color: #4a5560; margin-top: 0; }}
.kpis {{ display: flex; gap: 1.5em; flex-wrap: wrap; margin: 1em 0; }}
.kpi {{ background: #eef3f8; padding: .7em 1em; border-radius: 6px; }}
.kpi b {{ display: block; font-size: 1.6em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ padding: .25em .8em; border-bottom: 1px solid #dde3ea; }}
th {{ text-align: left; }} td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }} figcaption {{ color: #4a5560; }}
.lesson {{ font-size: 1.15em; background: #fff8e6; padding: 1em; border-left: 4px solid #E69F00; }}
.note {{ color: #6b4b00; }}
</style></head><body>
<h1>Debrief: {e(d.scenario)}</h1>
<p class=sub>Played by <b>{e(d.played_by)}</b> ("{PLAYER}" below) &middot; {e(d.date)} &middot;
seed {d.seed}, {d.prospects:,} prospects, {d.turns} turns of a {e(d.turn_length)}.</p>
<div class=lesson><p><b>The lesson:</b> {e(d.lesson)}</p><p>{e(d.meaning)}</p></div>
<h2>What to do differently</h2><ul>{advice}</ul>
<div class=kpis>
<div class=kpi>firm value<b>{_money(me.firm_value)}</b>discounted profit {_money(me.discounted_profit)}
+ customer equity left {_money(me.equity_left)}</div>
<div class=kpi>centricity score<b>{score}</b>0 = mass-marketing, 100 = oracle</div>
<div class=kpi>customer equity left: your estimate<b>{_money(eq.estimated)}</b>
true {_money(eq.true)}{error}{interval}</div>
</div>
{notes}
<h2>Firm value on the same market</h2>{strategies}
<h2>Each lever swapped with another strategy's</h2>{levers}
<h2>Acquisition by channel</h2>{channels}
<h2>Your tiers, and who they reached</h2>{tiers}
{experiments}
{figs}
<h2>Turn by turn</h2>{turn_rows}
<p class=sub>Firm value = discounted profit of every turn + the true customer equity left at the
end, discounted. The estimate of customer equity values customers the way the score does: no
service and nobody turned away after the game, each turn discounted at its end. Made by ccsim from
the game record; every number is recomputed by replaying the record's decisions on its seed.</p>
</body></html>
"""


def report_from_record(path: str | Path, folder: str | Path,
                       progress: Callable[[str, float], None] | None = None,
                       team: str | None = None, workers: int = 1) -> Path:
    """Replay the record at ``path`` and write its debrief report into ``folder``.

    Args:
        team: the name shown as who played (default: the record's strategy).

    Raises:
        sim.records.RecordError: the record cannot be read.
        sim.decisions.DecisionError: a recorded decision the game refuses.
    """
    record = read_record(path)
    d = debrief_of(record.scenario, record.seed, record.decisions, progress=progress,
                   played_by=team or record.strategy, strategy=record.strategy, workers=workers)
    return write_report(d, folder)
