"""The class server (issue 19): a real server on a free localhost port, teams as headless clients.

Bad input, reconnects, the instructor's page and its controls, the window on
a remote session; the restart after kill -9 is in test_class_server_restart.py.
"""

from __future__ import annotations

import csv
import io
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

import numpy as np
import pytest

from conftest import small

from sim.classnet import wire
from sim.classnet.classroom import Classroom
from sim.classnet.remote import Channel, JoinRefused, RemoteSession
from sim.classnet.server import ServerThread
from sim.decisions import DecisionError
from sim.records import read_record, verify_record
from sim.session import PlayerSession
from sim.session_api import GameSession
from sim.tournament.classplay import new_tournament
from sim.tournament.protocol import ObservationDelta, ObservationMirror

PROSPECTS = 3000
TEAMS = ["Red", "Blue", "Green"]


@pytest.fixture
def classroom(tmp_path):
    tournament, key, _secret = new_tournament(small("coffee", PROSPECTS), TEAMS, tmp_path / "class.json")
    room = Classroom(tournament, key, tmp_path / "state")
    room.key = key
    return room


@pytest.fixture
def server(classroom):
    # A high rate limit: these clients end turns as fast as the machine plays them.
    s = ServerThread(classroom, rate=1000, burst=1000)
    yield s
    s.stop()


def join(server, team: str) -> RemoteSession:
    return RemoteSession.join(server.url, team, server.classroom.teams[team].code, timeout=60)


def raw(server) -> Channel:
    return Channel(server.url, timeout=30)


def joined_raw(server, team: str) -> Channel:
    ch = raw(server)
    ch.send({"op": "join", "team": team, "code": server.classroom.teams[team].code})
    assert ch.receive()["op"] == "welcome"
    return ch


def get(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)


def post(url: str, **fields) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST"), timeout=120) as r:
        return r.status, r.read().decode("utf-8")


class Page(HTMLParser):
    """The instructor page's tables: table id -> rows of cell texts; and every link."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self.forms: list[str] = []
        self.scripts = 0
        self._table = None
        self._row = None
        self._cell = None
        self.open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ("meta", "input", "br", "link", "img", "hr"):
            self.open.append(tag)
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id", ""), [])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "a":
            self.links.append(a["href"])
        elif tag == "form":
            self.forms.append(a["action"])
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else ''}>"
        self.open.pop()
        if tag in ("td", "th"):
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr":
            self._table.append(self._row)
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def instructor(server) -> Page:
    status, text, headers = get(f"{server.url}/instructor?token={server.classroom.instructor_token}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = Page(text)
    assert page.open == [] and page.scripts == 0      # every tag closed, no script
    return page


# ---------------------------------------------------------------- the wire
def test_an_observation_travels_as_json_deltas_and_is_rebuilt_array_for_array(classroom):
    team = classroom.teams["Red"]
    sender = ObservationDelta()
    mirror = ObservationMirror(team.game.public, team.game.public.warmup_turns + team.game.public.turns)
    for _ in range(3):
        message = json.loads(wire.dumps(wire.encode_delta(sender.delta(team.game.observation))))
        got = mirror.apply(wire.decode_delta(message))
        want = team.game.observation
        for name in ("customer_id", "channel", "purchases", "spend", "active", "last_purchase_time"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
        assert got.books == want.books and got.turn == want.turn
        classroom._step(team, classroom.last_plan(team), closed=False, save=False)


def test_an_array_of_another_dtype_or_size_is_refused_by_name():
    good = wire.encode_array(np.arange(4, dtype=np.int64))
    assert wire.decode_array(good, "x").tolist() == [0, 1, 2, 3]
    with pytest.raises(wire.ProtocolError, match="x: dtype '\\|O' is not allowed"):
        wire.decode_array({**good, "dtype": "|O"}, "x")
    with pytest.raises(wire.ProtocolError, match="x: 32 bytes do not fill shape \\[5\\]"):
        wire.decode_array({**good, "shape": [5]}, "x")


def test_the_public_scenario_round_trips(classroom):
    public = classroom.teams["Red"].game.public
    assert wire.public_from_json(json.loads(json.dumps(wire.public_to_json(public)))) == public


# ---------------------------------------------------------------- playing
def test_the_remote_session_implements_the_window_interface(server):
    import inspect

    from test_ui_structure import protocol_members

    session = join(server, "Red")
    try:
        assert isinstance(session, GameSession)
        for name in protocol_members():
            assert hasattr(session, name), name
            declared = getattr(GameSession, name, None)
            if callable(declared):
                assert list(inspect.signature(getattr(RemoteSession, name)).parameters) == \
                    list(inspect.signature(declared).parameters), name
        assert session.seed == -1 and session.autosave_path is None
    finally:
        session.close()


def test_a_team_plays_the_same_game_as_a_solo_game_of_the_market_and_its_record_verifies(server):
    room = server.classroom
    solo = PlayerSession.new(room.scenario, room.seed)
    session = join(server, "Red")
    assert session.turn == 1 and session.lab.value is not None
    assert session.observation.n_customers == solo.observation.n_customers
    # The same refusal as a solo game, word for word, and nothing sent.
    greedy = session.default_plan()
    greedy.acquisition = {c: 1e7 for c in greedy.acquisition}
    with pytest.raises(DecisionError) as remote:
        session.end_turn(greedy)
    with pytest.raises(DecisionError) as local:
        solo.end_turn(greedy)
    assert str(remote.value) == str(local.value) and "Over budget" in str(remote.value)
    while not session.done:
        plan = session.default_plan()
        result = session.end_turn(plan)
        assert result.books == solo.end_turn(plan).books
    assert session.turn == room.scenario.turns + 1 and room.teams["Red"].done
    assert session.estimated_firm_value()[0] == pytest.approx(solo.estimated_firm_value()[0])
    record = read_record(room.team_file(room.teams["Red"]))
    assert record.strategy == "Red" and not record.partial
    assert verify_record(record, references=False) == []
    session.close()


def test_a_client_that_drops_rejoins_at_its_last_finished_turn(server):
    session = join(server, "Blue")
    for _ in range(3):
        session.end_turn(session.default_plan())
    books = [r.books for r in session.results]
    n = session.observation.n_customers
    session.channel.close()          # the network is gone, no goodbye
    again = join(server, "Blue")
    assert again.turn == 4 and [r.books for r in again.results] == books
    assert again.observation.n_customers == n and len(again.tier_outcomes) == 3
    again.end_turn(again.default_plan())
    assert again.turn == 5 and server.classroom.teams["Blue"].turn == 5
    again.close()


# ---------------------------------------------------------------- bad input
def test_wrong_codes_and_unknown_teams_are_refused_and_nobody_else_is_affected(server):
    red = join(server, "Red")
    with pytest.raises(JoinRefused, match="the join code for team Blue is wrong"):
        RemoteSession.join(server.url, "Blue", "guess", timeout=30)
    with pytest.raises(JoinRefused, match="code: the join code for team Blue is wrong"):
        RemoteSession.join(server.url, "Blue", server.classroom.teams["Red"].code, timeout=30)
    with pytest.raises(JoinRefused, match="'Mallory' is not a team of this class"):
        RemoteSession.join(server.url, "Mallory", "x", timeout=30)
    red.end_turn(red.default_plan())
    assert red.turn == 2 and server.classroom.teams["Blue"].turn == 1
    red.close()


def test_a_second_window_for_a_connected_team_is_refused_until_the_first_is_gone(server):
    first = join(server, "Green")
    with pytest.raises(JoinRefused, match="team Green is already connected from another window"):
        join(server, "Green")
    first.end_turn(first.default_plan())
    first.close()
    import time

    for _ in range(600):         # the server lets the team go once its handler has ended
        if not server.classroom.teams["Green"].connected:
            break
        time.sleep(0.05)
    second = join(server, "Green")
    assert second.turn == 2
    second.close()


def test_malformed_and_oversized_messages_get_a_clear_refusal_and_the_channel_stays_open(server, monkeypatch):
    monkeypatch.setattr(wire, "MAX_CLIENT_MESSAGE", 4096)
    ch = raw(server)
    ch.send({"op": "end_turn", "turn": 1})
    assert ch.receive() == {"op": "refused", "reason": "not-joined",
                            "message": 'join first: {"op": "join", "team": ..., "code": ...}'}
    for frame, words in [("{not json", "not understood: not JSON"),
                         ("[1, 2]", 'a message is a JSON object with an "op"'),
                         ('{"op": NaN}', "not understood: not JSON"),
                         (b"\x80\x04binary", "messages are JSON text, not binary frames"),
                         ("x" * 5000, "message of 5,000 bytes; at most 4,096")]:
        ch.send_raw(frame)
        reply = ch.receive()
        assert reply["op"] == "refused" and words in reply["message"], (frame[:20], reply)
    ch.send({"op": "join", "team": "Red", "code": server.classroom.teams["Red"].code})
    assert ch.receive()["op"] == "welcome"
    ch.send({"op": "fly"})
    assert "unknown op 'fly'" in ch.receive()["message"]
    ch.send({"op": "end_turn", "turn": 1, "decision": {"acquisition": {"moon": 5}}})
    reply = ch.receive()
    assert reply["reason"] == "decision" and "moon" in reply["message"]
    ch.send({"op": "end_turn", "turn": 1, "decision": "import os"})
    assert ch.receive()["message"] == "decision: must be a mapping"
    ch.send({"op": "end_turn", "turn": 1,
             "decision": {"acquisition": {}, "tiers": [{"name": "all", "rule": "all", "service": 1e9}]}})
    reply = ch.receive()
    assert reply["reason"] == "decision" and "budget" in reply["message"]
    # A frame past twice the cap is not read at all: the server closes the socket (1009).
    ch.send_raw("y" * 9000)
    with pytest.raises(Exception, match="closed the connection"):
        while True:
            ch.receive()
    ch.close()
    assert server.classroom.teams["Red"].turn == 1      # nothing was played
    assert not server.classroom.teams["Red"].connected
    other = join(server, "Red")                        # the team is free again
    other.close()


def test_decisions_for_a_closed_or_future_turn_are_refused(server):
    ch = joined_raw(server, "Red")
    decision = {"acquisition": {}, "tiers": []}
    ch.send({"op": "end_turn", "turn": 2, "decision": decision})
    assert ch.receive()["message"] == "turn 2 has not started: this is turn 1"
    ch.send({"op": "end_turn", "turn": 1, "decision": decision})
    assert ch.receive()["op"] == "turn"
    ch.send({"op": "end_turn", "turn": 1, "decision": decision})
    assert ch.receive() == {"op": "refused", "reason": "turn",
                            "message": "turn 1 is already closed: this is turn 2"}
    ch.send({"op": "end_turn", "turn": "2", "decision": decision})
    assert ch.receive()["message"] == "turn: must be a whole number"
    ch.close()


def test_a_client_sending_faster_than_a_person_is_rate_limited_alone(classroom):
    server = ServerThread(classroom)       # the default limit
    try:
        flood = joined_raw(server, "Red")
        calm = join(server, "Blue")
        for _ in range(40):
            flood.send({"op": "reveal"})
        replies = [flood.receive() for _ in range(40)]
        limited = [r for r in replies if r.get("reason") == "rate"]
        # A burst of 8 (the join took one), then 4 a second: most of a quick flood is refused.
        assert 10 <= len(limited) <= 40 - 7
        assert limited[0]["message"] == "too many messages: a window sends at most 4 a second; this one was ignored"
        assert {r["op"] for r in replies} == {"waiting", "refused"}
        calm.end_turn(calm.default_plan())         # another team is not slowed
        assert calm.turn == 2
        flood.close()
        calm.close()
    finally:
        server.stop()


# ---------------------------------------------------------------- the instructor
def test_the_instructor_page_needs_its_token(server):
    assert get(f"{server.url}/instructor")[0] == 403
    assert get(f"{server.url}/instructor?token=guess")[0] == 403
    assert get(f"{server.url}/instructor/leaderboard.csv?token=guess")[0] == 403
    status, text, _ = get(f"{server.url}/")
    assert status == 200 and server.classroom.teams["Red"].code not in text


def test_instructor_page_closing_turns_release_class_debrief_csv_and_reports(server):
    room = server.classroom
    token = room.instructor_token
    red, blue = join(server, "Red"), join(server, "Blue")
    red.end_turn(red.default_plan())
    page = instructor(server)
    rows = {r[1]: r for r in page.tables["teams"][1:]}
    assert set(rows) == set(TEAMS)
    assert rows["Red"][2:5] == ["yes", "yes", f"2 of {room.scenario.turns}"]
    assert rows["Green"][2:5] == ["no", "no", f"1 of {room.scenario.turns}"]
    profit = -float(rows["Red"][5].replace("$", "").replace(",", "")) if rows["Red"][5].startswith("-") \
        else float(rows["Red"][5].replace("$", "").replace(",", ""))
    assert abs(profit) == pytest.approx(abs(room.teams["Red"].discounted_profit(room.scenario.discount_rate)),
                                        abs=0.5)
    assert "/instructor/close" in page.forms and "/instructor/release" not in page.forms
    assert '<meta http-equiv="refresh" content="5">' in get(f"{server.url}/instructor?token={token}")[1]

    # Closing turn 1: Blue and Green (still on it) get their last plan; Red is ahead.
    status, text = post(f"{server.url}/instructor/close", token=token)
    assert status == 200 and "Turn 1 closed: Blue, Green played their last plan." in text
    assert [room.teams[t].turn for t in TEAMS] == [2, 2, 2]
    assert room.teams["Blue"].closed == [1] and room.teams["Red"].closed == []
    # Blue's window learns it when it next ends a turn: the solo refusal's place, nothing lost.
    with pytest.raises(DecisionError, match="The instructor closed quarter 1: your last plan was played"):
        blue.end_turn(blue.default_plan())
    assert blue.turn == 2 and blue.closed_turns == [1]
    blue.end_turn(blue.default_plan())
    assert blue.turn == 3
    status, text = post(f"{server.url}/instructor/release", token=token)
    assert "the debrief can be released after the last turn (still playing: Red, Blue, Green)" in text
    assert not room.released

    while not room.all_done:
        post(f"{server.url}/instructor/close", token=token)
    assert get(f"{server.url}/instructor/leaderboard.csv?token={token}")[0] == 409
    page = instructor(server)
    assert "/instructor/release" in page.forms and "/instructor/close" not in page.forms
    status, text = post(f"{server.url}/instructor/release", token=token)
    assert status == 200 and room.released
    page = Page(text)
    assert page.open == [] and page.scripts == 0 and 'http-equiv="refresh"' not in text
    results = page.tables["results"]
    assert [r[1] for r in results[1:]] == [r["team"] for r in room.results()[0]]
    assert len(results) == 1 + len(TEAMS)
    references = {r[0]: r[1] for r in page.tables["references"][1:]}
    assert set(references) == {"do-nothing", "mass-marketing", "volume", "customer-centric", "oracle"}

    status, text, headers = get(f"{server.url}/instructor/leaderboard.csv?token={token}")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["team"] for r in table] == [r[1] for r in results[1:]]
    rows, refs = room.results()
    for line, row in zip(table, rows):
        assert float(line["firm_value"]) == pytest.approx(row["firm_value"], abs=0.01)
        mass, oracle = refs["mass-marketing"], refs["oracle"]
        assert float(line["centricity_score"]) == pytest.approx(
            100 * (row["firm_value"] - mass) / (oracle - mass), abs=0.01)
    assert int(table[[r["team"] for r in table].index("Green")]["turns_closed_by_instructor"]) == \
        room.scenario.turns

    # The team's own report, linked from the page.
    link = next(link for link in page.links if "/report/" in link)
    status, text, _ = get(server.url + link)
    assert status == 200 and "<html" in text.lower()
    assert Page(text).open == []
    png = next(s for s in text.split('"') if s.endswith(".png"))
    assert get(server.url + link.rsplit("/", 1)[0] + "/" + png)[0] == 200
    assert get(server.url + link.rsplit("/", 1)[0] + "/..%2Fclass.json")[0] == 404

    # The teams' windows get the debrief now: the same firm value the server measured.
    debrief = red.reveal()
    assert debrief.player.firm_value == pytest.approx(next(r["firm_value"] for r in rows if r["team"] == "Red"))
    assert math.isfinite(debrief.centricity)
    red.close()
    blue.close()


def test_closing_a_turn_plays_the_last_plan_with_the_lab_scores_fitted_on_the_server(server):
    from sim.session import TierPlan

    room = server.classroom
    red = join(server, "Red")
    plan = red.default_plan()
    plan.tiers.insert(0, TierPlan("best", {"top": 0.2, "by": "predicted_clv"}, 3.0))
    red.end_turn(plan)
    assert "predicted_clv" in room.teams["Red"].decisions[0].scores
    turn, moved = room.close_turn()
    assert turn == 1 and [t.team for t in moved] == ["Blue", "Green"]
    # Turn 1's "last plan" is the previous management's policy.
    inherited = room.scenario.inherited
    blue = room.teams["Blue"].decisions[0]
    assert blue.acquisition == dict(inherited.acquisition)
    assert [(t.name, t.rule, t.spend_per_customer) for t in blue.tiers] == [("everyone", "all", inherited.service)]
    turn, moved = room.close_turn()
    assert turn == 2 and [t.team for t in moved] == TEAMS
    again = room.teams["Red"].decisions[1]
    assert [(t.name, t.rule) for t in again.tiers] == [(t.name, t.rule) for t in plan.tiers]
    assert again.acquisition == {c: v for c, v in plan.acquisition.items() if v > 0}
    assert "predicted_clv" in again.scores       # fitted on the server to the team's data now
    assert room.teams["Red"].history[1]["closed"] and not room.teams["Red"].history[0]["closed"]
    # The window had no push (closed directly): it catches up when it next ends a turn.
    with pytest.raises(DecisionError, match="The instructor closed quarter 2"):
        red.end_turn(red.default_plan())
    assert red.turn == 3 and red.closed_turns == [2] and len(red.results) == 2
    red.end_turn(red.default_plan())
    assert room.teams["Red"].turn == 4
    red.close()


def test_team_names_are_text_on_the_page_and_in_the_csv(tmp_path):
    names = ['<script>alert(1)</script>', '=HYPERLINK("http://x")', 'Ünïcode & "quotes"']
    tournament, key, _ = new_tournament(small("coffee", 1500), names, tmp_path / "c.json")
    room = Classroom(tournament, key, tmp_path / "state")
    server = ServerThread(room)
    try:
        page = instructor(server)
        assert sorted(r[1] for r in page.tables["teams"][1:]) == sorted(names)
        while not room.all_done:
            room.close_turn()
        assert sorted(p.name for p in (tmp_path / "state" / "teams").iterdir()) == \
            ["01-_script_alert_1___script_.json", "02-_HYPERLINK__http___x__.json", "03-_n_code____quotes_.json"]
        rows, _refs = room.results()
        table = list(csv.reader(io.StringIO(room.leaderboard_csv(rows))))
        assert sorted(r[1] for r in table[1:]) == sorted(["<script>alert(1)</script>", "'=HYPERLINK(\"http://x\")",
                                                        'Ünïcode & "quotes"'])
    finally:
        server.stop()


def test_the_debrief_waits_for_the_instructor(server):
    ch = joined_raw(server, "Red")
    ch.send({"op": "reveal"})
    assert ch.receive() == {"op": "waiting"}
    ch.close()


# ---------------------------------------------------------------- the command line
def test_serve_and_join_refuse_bad_input_in_one_line(tmp_path, capsys):
    from conftest import run_cli

    new_tournament(small("coffee", PROSPECTS), ["Red"], tmp_path / "c.json")
    code, _out, err = run_cli(capsys, "serve", tmp_path / "c.json", "--secret", "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-F")
    assert code == 2 and "the key does not open tournament 'c'" in err
    code, _out, err = run_cli(capsys, "serve", tmp_path / "missing.json", "--secret", "x")
    assert code == 2 and "cannot read the tournament file" in err
    code, _out, err = run_cli(capsys, "serve", tmp_path / "c.json", "--secret", tmp_path / "c.secret.json",
                              "--port", "70000")
    assert code == 2 and "--port must be at most 65,535" in err
    code, _out, err = run_cli(capsys, "play", "--join", "http://127.0.0.1:9", "--team", "Red")
    assert code == 2 and "--join: give your team and its code too" in err
    port = _closed_port()
    code, _out, err = run_cli(capsys, "play", "--join", f"http://127.0.0.1:{port}", "--team", "Red", "--code", "x")
    assert code == 2 and f"http://127.0.0.1:{port}: cannot reach the class server" in err


def test_join_refusals_exit_2_with_the_servers_message(server, capsys):
    from conftest import run_cli

    code, _out, err = run_cli(capsys, "play", "--join", server.url, "--team", "Red", "--code", "nope")
    assert code == 2 and err.strip() == "error: code: the join code for team Red is wrong (ask the instructor)"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
