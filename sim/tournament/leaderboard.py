"""Leaderboards with the luck shown: means over markets, paired comparisons, ties.

An entry's score is its mean firm value over the markets (seeds) it played,
with a 95% t-interval over them.  Every entry plays the same markets, and
some markets are kinder than others to everyone alike, so two entries are
compared *paired*: by their differences market by market.  Two entries are
statistically tied only when the 95% t-interval of those differences
contains 0; the leaderboard shows, for each entry and the one ranked below
it, the mean difference and its interval.  (Overlapping unpaired intervals
say little here: the luck of the markets is shared.)  Entries with fewer
than two markets in common are not marked tied: on one shared market the
difference is exact.  A game a bot lost (a crash, a timeout, an unusable
decision) counts as a forfeit: the worst reference's firm value on that
market, so failing never beats playing.

Outputs: a terminal table, ``leaderboard.csv`` and a self-contained
``leaderboard.html`` whose charts are PNGs drawn with matplotlib's object
API (``Figure`` + ``FigureCanvasAgg``, never pyplot) and inlined as base64.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..scoring import centricity_score


@dataclass
class Standing:
    """One entry's line on the leaderboard.

    Attributes:
        rank: 1 for the best mean firm value.
        entry: the entry's name.
        kind: ``bot``, ``record`` or ``reference``.
        values: seed -> firm value, dollars (forfeits included).
        mean: mean firm value over ``values``, dollars (NaN if none).
        low, high: the 95% t-interval of the mean (NaN with fewer than 2 seeds).
        centricity: mean over seeds of the centricity score (0 = mass-marketing,
            100 = oracle).
        failures: "market M, turn T: reason" per lost game or refused record.
        tied_with: ranks of the entries whose paired 95% interval of
            differences with this one contains 0.
        lead: mean firm value difference with the next entry down, over the
            markets both played, dollars (NaN for the last).
        lead_low, lead_high: its paired 95% t-interval (NaN below two markets in common).
        lead_markets: markets in common with the next entry.
    """

    rank: int
    entry: str
    kind: str
    values: dict[int, float]
    mean: float
    low: float
    high: float
    centricity: float
    failures: list[str] = field(default_factory=list)
    tied_with: list[int] = field(default_factory=list)
    lead: float = math.nan
    lead_low: float = math.nan
    lead_high: float = math.nan
    lead_markets: int = 0

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def has_lead_interval(self) -> bool:
        return math.isfinite(self.lead_low) and math.isfinite(self.lead_high)


def t_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the ``level`` t-interval of the mean (NaN bounds below two values)."""
    # Imported here: bot processes import this package and need not pay for scipy.
    from ..analytics.experiments import mean_interval

    interval = mean_interval(np.asarray(values, dtype=float), level)
    return interval.estimate, interval.low, interval.high


def paired_difference(a: dict[int, float], b: dict[int, float]) -> tuple[float, float, float, int]:
    """(mean of a - b over their common seeds, its 95% t-interval, the number of common seeds)."""
    common = sorted(set(a) & set(b))
    mean, low, high = t_interval([a[s] - b[s] for s in common])
    return mean, low, high, len(common)


def paired_tie(a: dict[int, float], b: dict[int, float]) -> bool:
    """True when the paired 95% interval of a - b contains 0 (two or more common seeds)."""
    _, low, high, n = paired_difference(a, b)
    return n >= 2 and low <= 0.0 <= high


def _default_label(seed: int) -> str:
    return f"seed {seed}"


def build_standings(results: list[dict], rejected: list[tuple[str, str, int | None, str]] = (),
                    label: Callable[[int], str] = _default_label) -> list[Standing]:
    """Rank entries from game results (``sim.tournament.games.play_job``'s mappings).

    Args:
        results: one mapping per game, references included.
        rejected: (entry, kind, seed or None, reason) for entries refused;
            they appear as failures of their entry.
        label: how a seed is named in failures (``market 3``, ``seed 7``).
    """
    references: dict[int, dict[str, float]] = {}
    for r in results:
        if r["kind"] == "reference" and r["firm_value"] is not None:
            references.setdefault(r["seed"], {})[r["entry"]] = r["firm_value"]
    entries: dict[str, dict] = {}
    for r in sorted(results, key=lambda r: (r["entry"], r["seed"])):
        e = entries.setdefault(r["entry"], {"kind": r["kind"], "values": {}, "failures": []})
        seed = r["seed"]
        if r["status"] == "finished":
            e["values"][seed] = float(r["firm_value"])
        elif r["status"] == "failed":
            where = f"{label(seed)}, turn {r['turn']}" if r.get("turn") else f"{label(seed)}, at start"
            e["failures"].append(f"{where}: {r['reason']}")
            if references.get(seed):
                e["values"][seed] = min(references[seed].values())  # the forfeit
        else:  # a record that did not verify counts for nothing
            e["failures"].append(f"{label(seed)}: rejected: {r['reason']}")
    for entry, kind, seed, reason in rejected:
        e = entries.setdefault(entry, {"kind": kind, "values": {}, "failures": []})
        e["failures"].append(f"{f'{label(seed)}: ' if seed is not None else ''}rejected: {reason}")

    standings = []
    for name, e in entries.items():
        values = e["values"]
        mean, low, high = t_interval(list(values.values()))
        scores = [centricity_score(v, references[s]["mass-marketing"], references[s]["oracle"])
                  for s, v in values.items()
                  if {"mass-marketing", "oracle"} <= set(references.get(s, {}))]
        scores = [x for x in scores if math.isfinite(x)]
        standings.append(Standing(0, name, e["kind"], values, mean, low, high,
                                  float(np.mean(scores)) if scores else math.nan, e["failures"]))
    standings.sort(key=lambda s: (not math.isfinite(s.mean), -s.mean if math.isfinite(s.mean)
                                  else 0.0, s.entry))
    for i, s in enumerate(standings, 1):
        s.rank = i
    for a in standings:
        a.tied_with = [b.rank for b in standings if b is not a and paired_tie(a.values, b.values)]
    for a, b in zip(standings, standings[1:]):
        if a.values and b.values:
            a.lead, a.lead_low, a.lead_high, a.lead_markets = paired_difference(a.values, b.values)
    return standings


def _money(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _interval(s: Standing) -> str:
    return f"[{_money(s.low)}, {_money(s.high)}]" if s.has_interval else "(one market)" \
        if len(s.values) == 1 else ""


def _lead(s: Standing) -> str:
    """The paired difference with the next entry: ``+$1,234 [+$200, +$2,268]``."""
    if not math.isfinite(s.lead):
        return ""
    text = _signed(s.lead)
    if s.has_lead_interval:
        return f"{text} [{_signed(s.lead_low)}, {_signed(s.lead_high)}]"
    return f"{text} (one market)"


def _signed(x: float) -> str:
    return ("+" if x >= 0 else "-") + f"${abs(x):,.0f}"


def _ties(s: Standing) -> str:
    """The tied ranks as runs: ``= 1-3,5``."""
    runs: list[list[int]] = []
    for rank in s.tied_with:
        if runs and rank == runs[-1][-1] + 1:
            runs[-1].append(rank)
        else:
            runs.append([rank])
    return "= " + ",".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(map(str, r))
                           for r in runs) if runs else ""


def markets_banner(markets, published: bool = False) -> str:
    """The one line each output carries about its markets (hidden, or public and rehearsable)."""
    if markets is not None and markets.kind == "class":
        return ("class market: its seed comes from the class key, secret until play started; "
                "a team that played offline could replay it once the key was revealed")
    if markets is None or not markets.is_hidden:
        return ("PUBLIC SEEDS (rehearsable): every seed was known before play, so an entry may "
                "have been tuned on these very markets")
    when = "published in markets.json" if published else "published once every game has finished"
    return f"hidden markets: seeds drawn from a secret key, {when}"


def format_table(standings: list[Standing], markets=None, published: bool = False) -> str:
    """The leaderboard as fixed-width text, failures listed under it."""
    head = (f"{'rank':>4}  {'entry':<24} {'markets':>7} {'mean firm value':>16}  "
            f"{'95% interval':<27} {'centricity':>10} {'failures':>8}  "
            f"{'lead over next, paired 95%':<36} tied with")
    lines = [markets_banner(markets, published), head, "-" * len(head)]
    for s in standings:
        name = s.entry if len(s.entry) <= 24 else s.entry[:23] + "…"
        if s.kind == "reference":
            name = f"({name})"[:24]
        centricity = f"{s.centricity:.1f}" if math.isfinite(s.centricity) else "n/a"
        lines.append(f"{s.rank:>4}  {name:<24} {len(s.values):>7} {_money(s.mean):>16}  "
                     f"{_interval(s):<27} {centricity:>10} {len(s.failures):>8}  "
                     f"{_lead(s):<36} {_ties(s)}")
    failed = [s for s in standings if s.failures]
    if failed:
        lines += ["", "failures:"]
        for s in failed:
            lines += [f"  {s.entry}: {f}" for f in s.failures]
    lines += ["", "(references in brackets; a lost game counts as the worst reference's value on "
              "its market; 'lead over next': the mean difference from the entry below over the "
              "markets both played, with its 95% t-interval; '= 2,3' marks entries whose paired "
              "interval contains 0: statistically tied)"]
    return "\n".join(lines)


def _column(markets, seed: int) -> str:
    return (markets.label(seed) if markets is not None else f"seed {seed}").replace(" ", "_")


def write_csv(standings: list[Standing], path: str | Path, markets=None) -> None:
    """One row per entry, with its firm value on each market."""
    seeds = sorted({seed for s in standings for seed in s.values},
                   key=lambda x: markets.seeds.index(x) if markets is not None
                   and x in markets.seeds else x)
    kind = markets.kind if markets is not None and markets.is_hidden else \
        "public seeds (rehearsable)"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "entry", "kind", "markets", "mean_firm_value", "ci95_low", "ci95_high",
                    "centricity_score", "failures", "lead_over_next", "lead_ci95_low",
                    "lead_ci95_high", "tied_with", "market_kind"]
                   + [_column(markets, x) for x in seeds] + ["failure_reasons"])
        for s in standings:
            w.writerow([s.rank, _text(s.entry), s.kind, len(s.values), _num(s.mean), _num(s.low),
                        _num(s.high), _num(s.centricity), len(s.failures), _num(s.lead),
                        _num(s.lead_low), _num(s.lead_high), " ".join(map(str, s.tied_with)), kind]
                       + [_num(s.values.get(x, math.nan)) for x in seeds]
                       + [_text("; ".join(s.failures))])


def _text(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula.

    Entry names and reasons come from teams and bots; a cell starting with
    ``= + - @`` would be a formula when the CSV is opened in a spreadsheet.
    """
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _num(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else ""


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def interval_chart(standings: list[Standing]) -> str:
    """Mean firm value with its 95% interval per entry, as a base64 PNG."""
    from matplotlib.figure import Figure

    shown = [s for s in standings if math.isfinite(s.mean)]
    fig = Figure(figsize=(8, 1.2 + 0.28 * max(len(shown), 1)))
    ax = fig.add_subplot()
    y = np.arange(len(shown))[::-1]
    for yi, s in zip(y, shown):
        colour = "0.55" if s.kind == "reference" else ("tab:orange" if s.tied_with else "tab:blue")
        if s.has_interval:
            ax.errorbar(s.mean / 1e3, yi, xerr=[[(s.mean - s.low) / 1e3], [(s.high - s.mean) / 1e3]],
                        fmt="o", color=colour, capsize=3)
        else:
            ax.plot(s.mean / 1e3, yi, "o", color=colour)
    ax.set_yticks(y, [f"{s.rank}. {s.entry}" for s in shown], fontsize=8)
    ax.set_xlabel("mean firm value, $ thousands (95% interval over markets)")
    ax.set_title("Firm value: blue = clear rank, orange = tied (paired), grey = reference")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def lead_chart(standings: list[Standing]) -> str:
    """Each entry's paired lead over the next one, with its 95% interval, as a base64 PNG.

    A bar crossing the zero line is a statistical tie with the entry below.
    """
    from matplotlib.figure import Figure

    shown = [s for s in standings if math.isfinite(s.lead)]
    fig = Figure(figsize=(8, 1.2 + 0.28 * max(len(shown), 1)))
    ax = fig.add_subplot()
    y = np.arange(len(shown))[::-1]
    for yi, s in zip(y, shown):
        tied = s.has_lead_interval and s.lead_low <= 0 <= s.lead_high
        colour = "tab:orange" if tied else "tab:blue"
        if s.has_lead_interval:
            ax.errorbar(s.lead / 1e3, yi, xerr=[[(s.lead - s.lead_low) / 1e3],
                                                [(s.lead_high - s.lead) / 1e3]],
                        fmt="o", color=colour, capsize=3)
        else:
            ax.plot(s.lead / 1e3, yi, "o", color=colour)
    ax.axvline(0, color="0.3", linewidth=1)
    ax.set_yticks(y, [f"{s.rank}. {s.entry} vs {s.rank + 1}." for s in shown], fontsize=8)
    ax.set_xlabel("mean difference in firm value with the next entry, $ thousands "
                  "(paired 95% interval over markets)")
    ax.set_title("Lead over the next entry: orange = interval contains 0 (tied)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def seed_chart(standings: list[Standing], label: Callable[[int], str] = _default_label) -> str:
    """Each entry's firm value on every market (the luck of the market), as a base64 PNG."""
    from matplotlib.figure import Figure

    shown = [s for s in standings if s.values]
    seeds = sorted({seed for s in shown for seed in s.values}, key=label)
    fig = Figure(figsize=(8, 1.2 + 0.28 * max(len(shown), 1)))
    ax = fig.add_subplot()
    y = np.arange(len(shown))[::-1]
    colours = {seed: f"C{i % 10}" for i, seed in enumerate(seeds)}
    for seed in seeds:
        xs = [(s.values[seed] / 1e3, yi) for yi, s in zip(y, shown) if seed in s.values]
        if xs:
            ax.scatter(*zip(*xs), s=14, color=colours[seed], label=label(seed))
    ax.set_yticks(y, [f"{s.rank}. {s.entry}" for s in shown], fontsize=8)
    ax.set_xlabel("firm value, $ thousands")
    ax.set_title("Firm value on each market: the same markets for every entry")
    ax.grid(axis="x", alpha=0.3)
    if 0 < len(seeds) <= 10:
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def write_html(standings: list[Standing], path: str | Path, title: str,
               notes: list[str] = (), markets=None, published: bool = False) -> None:
    """A self-contained page: the markets' banner, the table, three charts, failures, notes."""
    e = html.escape
    label = markets.label if markets is not None else _default_label
    rows = []
    for s in standings:
        centricity = f"{s.centricity:.1f}" if math.isfinite(s.centricity) else "n/a"
        style = ' class="ref"' if s.kind == "reference" else ""
        rows.append(f"<tr{style}><td>{s.rank}</td><td>{e(s.entry)}</td><td>{e(s.kind)}</td>"
                    f"<td>{len(s.values)}</td><td class=n>{_money(s.mean)}</td>"
                    f"<td class=n>{e(_interval(s))}</td><td class=n>{centricity}</td>"
                    f"<td class=n>{len(s.failures)}</td><td class=n>{e(_lead(s))}</td>"
                    f"<td>{e(_ties(s))}</td></tr>")
    failures = "".join(f"<li><b>{e(s.entry)}</b>: {e(f)}</li>" for s in standings for f in s.failures)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}
table{{border-collapse:collapse}}td,th{{padding:.2em .6em;border-bottom:1px solid #ddd}}
td.n{{text-align:right}}tr.ref{{color:#777}}.banner{{font-weight:bold}}</style></head><body>
<h1>{e(title)}</h1>
<p class=banner>{e(markets_banner(markets, published))}</p>
{''.join(f'<p>{e(n)}</p>' for n in notes)}
<table><tr><th>rank</th><th>entry</th><th>kind</th><th>markets</th><th>mean firm value</th>
<th>95% interval</th><th>centricity</th><th>failures</th><th>lead over next (paired 95%)</th>
<th>tied with</th></tr>
{''.join(rows)}</table>
<p>Every entry plays the same markets, so entries are compared market by market: "lead over
next" is the mean difference in firm value from the entry ranked below, over the markets both
played, with the 95% t-interval of those differences. Two entries are statistically tied (the
"tied with" column) when that interval contains 0: their order could be luck. A lost game
counts as the worst reference's firm value on its market. Centricity: 0 = mass-marketing,
100 = the oracle.</p>
<h2>Lead over the next entry (paired)</h2>
<img alt="paired difference with the next entry, with 95% intervals" src="data:image/png;base64,{lead_chart(standings)}">
<h2>Mean firm value and its interval</h2>
<img alt="mean firm value per entry with 95% intervals" src="data:image/png;base64,{interval_chart(standings)}">
<h2>Every market</h2>
<img alt="firm value per entry and market" src="data:image/png;base64,{seed_chart(standings, label)}">
<h2>Failures</h2><ul>{failures or '<li>none</li>'}</ul>
</body></html>
"""
    Path(path).write_text(page, encoding="utf-8")
