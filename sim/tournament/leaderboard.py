"""Leaderboards with the luck shown: means over seeds, t-intervals, statistical ties.

An entry's score is its mean firm value over the seeds it played, with a
95% t-interval over those seeds.  Seeds are markets, and some markets are
kinder than others; entries whose intervals overlap are marked as
statistically tied rather than ranked as if the order were certain.  A
game a bot lost (a crash, a timeout, an unusable decision) counts as a
forfeit: the worst reference's firm value on that seed, so failing never
beats playing.

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

import numpy as np

from ..scoring import centricity_score


@dataclass
class Standing:
    """One entry's line on the leaderboard.

    Attributes:
        rank: 1 for the best mean firm value.
        entry: the entry's name.
        kind: ``bot``, ``record``, ``team`` or ``reference``.
        values: seed -> firm value, dollars (forfeits included).
        mean: mean firm value over ``values``, dollars (NaN if none).
        low, high: the 95% t-interval of the mean (NaN with fewer than 2 seeds).
        centricity: mean over seeds of the centricity score (0 = mass-marketing,
            100 = oracle).
        failures: "seed S, turn T: reason" per lost game or refused record.
        tied_with: ranks of the entries whose intervals overlap this one's.
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

    @property
    def has_interval(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


def t_interval(values: list[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the ``level`` t-interval of the mean (NaN bounds below two values)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    from scipy import stats  # here: bot processes import this package and need not pay for scipy

    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def build_standings(results: list[dict], rejected: list[tuple[str, str, int | None, str]] = (),
                    ) -> list[Standing]:
    """Rank entries from game results (``sim.tournament.games.play_job``'s mappings).

    Args:
        results: one mapping per game, references included.
        rejected: (entry, kind, seed or None, reason) for entries refused
            before playing; they appear as failures of their entry.
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
            where = f"seed {seed}, turn {r['turn']}" if r.get("turn") else f"seed {seed}, at start"
            e["failures"].append(f"{where}: {r['reason']}")
            if references.get(seed):
                e["values"][seed] = min(references[seed].values())  # the forfeit
        else:  # a record that did not verify counts for nothing
            e["failures"].append(f"seed {seed}: rejected: {r['reason']}")
    for entry, kind, seed, reason in rejected:
        e = entries.setdefault(entry, {"kind": kind, "values": {}, "failures": []})
        e["failures"].append(f"{f'seed {seed}: ' if seed is not None else ''}rejected: {reason}")

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
        a.tied_with = [b.rank for b in standings if b is not a and a.has_interval
                       and b.has_interval and a.low <= b.high and b.low <= a.high]
    return standings


def _money(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _interval(s: Standing) -> str:
    return f"[{_money(s.low)}, {_money(s.high)}]" if s.has_interval else "(one seed)" \
        if len(s.values) == 1 else ""


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


def format_table(standings: list[Standing]) -> str:
    """The leaderboard as fixed-width text, failures listed under it."""
    head = (f"{'rank':>4}  {'entry':<24} {'seeds':>5} {'mean firm value':>16}  "
            f"{'95% interval':<29} {'centricity':>10} {'failures':>8}  tied with")
    lines = [head, "-" * len(head)]
    for s in standings:
        name = s.entry if len(s.entry) <= 24 else s.entry[:23] + "…"
        if s.kind == "reference":
            name = f"({name})"[:24]
        centricity = f"{s.centricity:.1f}" if math.isfinite(s.centricity) else "n/a"
        lines.append(f"{s.rank:>4}  {name:<24} {len(s.values):>5} {_money(s.mean):>16}  "
                     f"{_interval(s):<29} {centricity:>10} {len(s.failures):>8}  {_ties(s)}")
    failed = [s for s in standings if s.failures]
    if failed:
        lines += ["", "failures:"]
        for s in failed:
            lines += [f"  {s.entry}: {f}" for f in s.failures]
    lines += ["", "(references in brackets; a lost game counts as the worst reference's value on "
              "its seed; '= 2,3' marks entries whose 95% intervals overlap: statistically tied)"]
    return "\n".join(lines)


def write_csv(standings: list[Standing], path: str | Path) -> None:
    """One row per entry, with its firm value on each seed."""
    seeds = sorted({seed for s in standings for seed in s.values})
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["rank", "entry", "kind", "seeds", "mean_firm_value", "ci95_low", "ci95_high",
                    "centricity_score", "failures", "tied_with"] + [f"seed_{x}" for x in seeds]
                   + ["failure_reasons"])
        for s in standings:
            w.writerow([s.rank, _text(s.entry), s.kind, len(s.values), _num(s.mean), _num(s.low),
                        _num(s.high), _num(s.centricity), len(s.failures),
                        " ".join(map(str, s.tied_with))]
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
    ax.set_xlabel("mean firm value, $ thousands (95% interval over seeds)")
    ax.set_title("Firm value: blue = clear rank, orange = statistically tied, grey = reference")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def seed_chart(standings: list[Standing]) -> str:
    """Each entry's firm value on every seed (the luck of the market), as a base64 PNG."""
    from matplotlib.figure import Figure

    shown = [s for s in standings if s.values]
    seeds = sorted({seed for s in shown for seed in s.values})
    fig = Figure(figsize=(8, 1.2 + 0.28 * max(len(shown), 1)))
    ax = fig.add_subplot()
    y = np.arange(len(shown))[::-1]
    colours = {seed: f"C{i % 10}" for i, seed in enumerate(seeds)}
    for seed in seeds:
        xs = [(s.values[seed] / 1e3, yi) for yi, s in zip(y, shown) if seed in s.values]
        if xs:
            ax.scatter(*zip(*xs), s=14, color=colours[seed], label=f"seed {seed}")
    ax.set_yticks(y, [f"{s.rank}. {s.entry}" for s in shown], fontsize=8)
    ax.set_xlabel("firm value, $ thousands")
    ax.set_title("Firm value on each seed: the same market for every entry")
    ax.grid(axis="x", alpha=0.3)
    if seeds:
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def write_html(standings: list[Standing], path: str | Path, title: str,
               notes: list[str] = ()) -> None:
    """A self-contained page: the table, both charts, failures and notes."""
    e = html.escape
    rows = []
    for s in standings:
        centricity = f"{s.centricity:.1f}" if math.isfinite(s.centricity) else "n/a"
        style = ' class="ref"' if s.kind == "reference" else ""
        rows.append(f"<tr{style}><td>{s.rank}</td><td>{e(s.entry)}</td><td>{e(s.kind)}</td>"
                    f"<td>{len(s.values)}</td><td class=n>{_money(s.mean)}</td>"
                    f"<td class=n>{e(_interval(s))}</td><td class=n>{centricity}</td>"
                    f"<td class=n>{len(s.failures)}</td><td>{e(_ties(s))}</td></tr>")
    failures = "".join(f"<li><b>{e(s.entry)}</b>: {e(f)}</li>" for s in standings for f in s.failures)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}
table{{border-collapse:collapse}}td,th{{padding:.2em .6em;border-bottom:1px solid #ddd}}
td.n{{text-align:right}}tr.ref{{color:#777}}</style></head><body>
<h1>{e(title)}</h1>
{''.join(f'<p>{e(n)}</p>' for n in notes)}
<table><tr><th>rank</th><th>entry</th><th>kind</th><th>seeds</th><th>mean firm value</th>
<th>95% interval</th><th>centricity</th><th>failures</th><th>tied with</th></tr>
{''.join(rows)}</table>
<p>Entries whose 95% intervals over seeds overlap are statistically tied (the "tied with"
column): their order could be luck. A lost game counts as the worst reference's firm value
on its seed. Centricity: 0 = mass-marketing, 100 = the oracle.</p>
<h2>Mean firm value and its interval</h2>
<img alt="mean firm value per entry with 95% intervals" src="data:image/png;base64,{interval_chart(standings)}">
<h2>Every seed</h2>
<img alt="firm value per entry and seed" src="data:image/png;base64,{seed_chart(standings)}">
<h2>Failures</h2><ul>{failures or '<li>none</li>'}</ul>
</body></html>
"""
    Path(path).write_text(page, encoding="utf-8")

