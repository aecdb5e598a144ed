"""The instructor's page: plain HTML and CSS, refreshed by the browser (no script at all).

The page refreshes itself every few seconds (``<meta http-equiv="refresh">``)
while the class plays; its controls are plain HTML forms posted to the
server.  Every text a team chose (its name) is escaped.
"""

from __future__ import annotations

import html
import math

#: Seconds between the page's refreshes while the class plays.
REFRESH_SECONDS = 5

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; background: #fafafa; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0 1.2em; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.7em; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.off td { color: #777; }
form { display: inline-block; margin-right: 1em; }
button { font-size: 1em; padding: 0.4em 1em; }
p.note { color: #555; max-width: 60em; }
p.message { background: #fff3cd; padding: 0.5em; max-width: 60em; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def money(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _page(title: str, body: list[str], refresh: bool) -> str:
    meta = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if refresh else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title>{meta}<style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def instructor_page(classroom, token: str, message: str = "", results=None) -> str:
    """The whole page: teams, turns, standings, controls; the class debrief once released.

    Args:
        classroom: the ``Classroom``.
        token: the instructor's token (carried by the forms and links).
        message: what the last action did, if anything.
        results: ``Classroom.results()`` once the debrief is released (None before).
    """
    s = classroom.scenario
    t = _e(token)
    body = [f"<h1>{_e(classroom.tournament.name)}: {_e(s.name)}</h1>",
            f"<p class=\"note\">{s.turns} {_e(s.turn_length)}s, {s.prospects:,} prospects. "
            "Standings are the books only (discounted profit so far); customer equity and the "
            "truth are revealed after the last turn.</p>"]
    if message:
        body.append(f"<p class=\"message\">{_e(message)}</p>")
    body += ["<h2>Teams</h2>", "<table id=\"teams\">",
             "<tr><th>#</th><th>team</th><th>joined</th><th>connected</th><th>turn</th>"
             "<th class=\"num\">discounted profit so far</th><th>turns closed by you</th></tr>"]
    for rank, (team, profit) in enumerate(classroom.standings(), 1):
        turn = "done" if team.done else f"{team.turn} of {s.turns}"
        body.append(f"<tr class=\"{'on' if team.connected else 'off'}\" data-team=\"{_e(team.team)}\">"
                    f"<td>{rank}</td><td>{_e(team.team)}</td><td>{'yes' if team.joined else 'no'}</td>"
                    f"<td>{'yes' if team.connected else 'no'}</td><td>{turn}</td>"
                    f"<td class=\"num\">{money(profit)}</td>"
                    f"<td>{', '.join(str(k) for k in team.closed) or '-'}</td></tr>")
    body.append("</table>")
    playing = [tm for tm in classroom.teams.values() if not tm.done]
    if playing:
        lowest = min(tm.turn for tm in playing)
        late = sum(1 for tm in playing if tm.turn == lowest)
        body.append(f"<form method=\"post\" action=\"/instructor/close\"><input type=\"hidden\" name=\"token\" "
                    f"value=\"{t}\"><button type=\"submit\">Close turn {lowest}</button></form>"
                    f"<p class=\"note\">Closing turn {lowest} plays it for the {late} team(s) still on it "
                    "with their last plan (on turn 1, the previous management's policy).</p>")
    elif not classroom.released:
        body.append(f"<form method=\"post\" action=\"/instructor/release\"><input type=\"hidden\" "
                    f"name=\"token\" value=\"{t}\"><button type=\"submit\">Reveal: release the debrief"
                    "</button></form><p class=\"note\">Every team has played its last turn. Releasing "
                    "shows the class debrief here and each team's debrief in its window.</p>")
    if results is not None:
        body += _debrief(classroom, token, *results)
    return _page(f"{classroom.tournament.name}: instructor", body, refresh=not classroom.released)


def _debrief(classroom, token: str, rows: list[dict], references: dict[str, float]) -> list[str]:
    t = _e(token)
    channels = classroom.scenario.channel_names
    labels = {c.name: c.label for c in classroom.scenario.channels}
    out = ["<h2>Class debrief: every team on the same market</h2>",
           f"<p><a href=\"/instructor/leaderboard.csv?token={t}\" download>Leaderboard (CSV)</a></p>",
           "<table id=\"results\"><tr><th>rank</th><th>team</th><th class=\"num\">firm value</th>"
           "<th class=\"num\">centricity score</th><th class=\"num\">discounted profit</th>"
           "<th class=\"num\">customer equity</th><th class=\"num\">service to the most valuable tenth</th>"
           "<th class=\"num\">service to the most valuable half</th>"
           + "".join(f"<th class=\"num\">acquired: {_e(labels[c])}</th>" for c in channels)
           + "<th>report</th></tr>"]
    for rank, r in enumerate(rows, 1):
        c = r["centricity_score"]
        out.append(f"<tr data-team=\"{_e(r['team'])}\"><td>{rank}</td><td>{_e(r['team'])}</td>"
                   f"<td class=\"num\">{money(r['firm_value'])}</td>"
                   f"<td class=\"num\">{f'{c:.0f}' if math.isfinite(c) else 'n/a'}</td>"
                   f"<td class=\"num\">{money(r['discounted_profit'])}</td>"
                   f"<td class=\"num\">{money(r['terminal_equity'])}</td>"
                   f"<td class=\"num\">{r['service_top_decile']:.0%}</td>"
                   f"<td class=\"num\">{r['service_top_half']:.0%}</td>"
                   + "".join(f"<td class=\"num\">{r['acquired'][ch]:,}</td>" for ch in channels)
                   + f"<td><a href=\"/i/{t}/report/{r['index'] + 1}/index.html\">report</a></td></tr>")
    out.append("</table><h2>References and the oracle (same market)</h2><table id=\"references\">"
               "<tr><th>strategy</th><th class=\"num\">firm value</th></tr>")
    for name, value in references.items():
        out.append(f"<tr><td>{_e(name)}</td><td class=\"num\">{money(value)}</td></tr>")
    out.append("</table><p class=\"note\">Centricity score: 0 = mass-marketing, 100 = the oracle "
               "(who sees every customer's true value). A team's report replays its game with the "
               "truth revealed; the first one opened takes a few seconds.</p>")
    return out


def join_page(classroom) -> str:
    """The server's front page: how a team joins (no codes on it)."""
    teams = ", ".join(_e(t) for t in classroom.teams)
    return _page(classroom.tournament.name, [
        f"<h1>{_e(classroom.tournament.name)}</h1>",
        f"<p>Teams: {teams}.</p>",
        "<p>Join with <code>ccsim play --join http://THIS-ADDRESS --team NAME --code CODE</code> "
        "(your team's code is given by the instructor).</p>"], refresh=False)
