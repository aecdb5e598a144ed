"""The debrief as a self-contained HTML page with PNG charts beside it (no pygame).

``write_report(debrief, folder)`` writes ``index.html`` and one PNG per chart
into ``folder``; the page uses no script, stylesheet or font from elsewhere,
so it opens offline and can be zipped and handed in.  The charts come from
``sim.charts``, the same functions the debrief screen uses.
``report_from_record`` rebuilds the debrief from a game record: the record's
decisions are replayed on its seed to get the truth.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Callable

from . import charts
from .debrief import PLAYER, Debrief, debrief_of
from .output_paths import write_atomically
from .records import read_record

#: Chart size in the report, pixels (readable printed and on screen).
_SIZE = (960, 420)


def _money(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


#: The debrief's charts, by file stem, in the order the screen offers them.
DEBRIEF_STEMS = ("firm_value", "levers", "service_by_decile", "equity", "timeline")


def debrief_figure(d: Debrief, stem: str, size_px, style: charts.ChartStyle):
    """One of the debrief's charts (``stem`` from ``DEBRIEF_STEMS``); the screen shows the same."""
    if stem == "firm_value":
        return charts.firm_value_chart(d.firm_values(), PLAYER, size_px, style)
    if stem == "levers":
        return charts.lever_chart(d.levers, size_px, style)
    if stem == "service_by_decile":
        return charts.decile_chart(d.player.service_by_value_decile, d.value_by_decile, size_px, style)
    if stem == "equity":
        estimate = d.estimated_equity if math.isfinite(d.estimated_equity) else 0.0
        return charts.equity_chart(estimate, d.true_equity, size_px, style)
    if stem == "timeline":
        return charts.timeline_chart([r.books.turn for r in d.player.turns],
                                     [r.books.profit for r in d.player.turns], list(d.mass_profit),
                                     [t.alive for t in d.player.true_turns], size_px, style)
    raise ValueError(f"unknown debrief chart {stem!r} (known: {', '.join(DEBRIEF_STEMS)})")


def write_report(d: Debrief, folder: str | Path, palette: str = "colour-blind safe") -> Path:
    """Write ``index.html`` and the chart PNGs for debrief ``d`` into ``folder``.

    Returns:
        The path of ``index.html``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    style = charts.ChartStyle.for_size(720, palette)
    captions = {
        "firm_value": "Firm value on the same market: you, the reference strategies and the "
                      "oracle (who sees every customer's true worth).",
        "levers": "What each lever was worth: the same game replayed with your acquisition and "
                  "mass-marketing's service, and the other way round, compared with mass-marketing.",
        "service_by_decile": "Where your service money went, by decile of your customers' true "
                             "value, against where the value was.",
        "equity": "Customer equity at the end: what your lab predicted from your own data "
                  "against the truth.",
        "timeline": "Turn by turn: your profit against mass-marketing's, and how many of your "
                    "customers were really alive (hidden during play).",
    }
    for stem in DEBRIEF_STEMS:
        charts.save_png(debrief_figure(d, stem, _SIZE, style), folder / f"{stem}.png")
    write_atomically(folder / "index.html", _page(d, captions), "the report")
    return folder / "index.html"


def _page(d: Debrief, captions: dict[str, str]) -> str:
    e = html.escape
    score = f"{d.centricity:.0f}" if math.isfinite(d.centricity) else "n/a"
    rows = "".join(f"<tr><td>{e(name)}</td><td class=n>{_money(v)}</td></tr>"
                   for name, v in sorted(d.firm_values().items(), key=lambda kv: -kv[1]))
    levers = "".join(f"<tr><td>{e(name)}</td><td class=n>{_money(v)}</td></tr>" for name, v in d.levers)
    error = (d.estimated_equity - d.true_equity) / d.true_equity \
        if math.isfinite(d.estimated_equity) and d.true_equity else math.nan
    turn_rows = "".join(
        f"<tr><td class=n>{r['turn']}</td><td class=n>{r['acquired']:,}</td>"
        f"<td class=n>{r['buyers']:,}</td><td class=n>{_money(r['revenue'])}</td>"
        f"<td class=n>{_money(r['acquisition_spend'])}</td><td class=n>{_money(r['service_spend'])}</td>"
        f"<td class=n>{_money(r['profit'])}</td><td class=n>{r['alive']:,}</td>"
        f"<td class=n>{r['lost']:,}</td></tr>" for r in d.player.to_rows())
    figs = "".join(f"<figure><img src=\"{stem}.png\" alt=\"{e(caption)}\">"
                   f"<figcaption>{e(caption)}</figcaption></figure>"
                   for stem, caption in captions.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Debrief: {e(d.scenario)}, seed {d.seed}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #1d2733;
       line-height: 1.45; padding: 0 1em; }}
h1 {{ margin-bottom: .2em; }} .sub {{ color: #555; margin-top: 0; }}
.kpis {{ display: flex; gap: 1.5em; flex-wrap: wrap; margin: 1em 0; }}
.kpi {{ background: #eef3f8; padding: .7em 1em; border-radius: 6px; }}
.kpi b {{ display: block; font-size: 1.6em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ padding: .25em .8em; border-bottom: 1px solid #dde3ea; }}
th {{ text-align: left; }} td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }} figcaption {{ color: #555; }}
.lesson {{ font-size: 1.15em; background: #fff8e6; padding: 1em; border-left: 4px solid #E69F00; }}
</style></head><body>
<h1>Debrief: {e(d.scenario)}</h1>
<p class=sub>Played by {e(d.played_by)} ("you" below); seed {d.seed}, {d.prospects:,} prospects,
{len(d.player.turns)} turns.</p>
<p class=lesson>{e(d.lesson)}</p>
<div class=kpis>
<div class=kpi>firm value<b>{_money(d.values[PLAYER])}</b></div>
<div class=kpi>centricity score<b>{score}</b>0 = mass-marketing, 100 = oracle</div>
<div class=kpi>customer equity: your estimate<b>{_money(d.estimated_equity)}</b>
true {_money(d.true_equity)}{'' if not math.isfinite(error) else f' ({error:+.0%})'}</div>
</div>
<h2>Firm value on the same market</h2><table><tr><th>strategy</th><th>firm value</th></tr>{rows}</table>
<h2>What each lever was worth (against mass-marketing)</h2><table>{levers}</table>
{figs}
<h2>Turn by turn</h2>
<table><tr><th>turn</th><th>acquired</th><th>buyers</th><th>revenue</th><th>acquisition</th>
<th>service</th><th>profit</th><th>really alive</th><th>really lost</th></tr>{turn_rows}</table>
<p class=sub>Firm value = discounted profit of every turn + the true customer equity left at the
end, discounted. Made by ccsim from the game record; every number is recomputed by replaying
the record's decisions on its seed.</p>
</body></html>
"""


def report_from_record(path: str | Path, folder: str | Path,
                       progress: Callable[[str], None] | None = None) -> Path:
    """Replay the record at ``path`` and write its debrief report into ``folder``.

    Raises:
        sim.records.RecordError: the record cannot be read.
        sim.decisions.DecisionError: a recorded decision the game refuses.
    """
    record = read_record(path)
    d = debrief_of(record.scenario, record.seed, record.decisions, progress=progress,
                   played_by=record.strategy)
    return write_report(d, folder)
