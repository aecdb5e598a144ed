"""The game window on a class server's game (SDL dummy driver): the same scenes, a remote session."""

from __future__ import annotations

import pygame
import pytest

from conftest import small

from sim.classnet.classroom import Classroom
from sim.classnet.remote import RemoteSession
from sim.classnet.server import ServerThread
from sim.tournament.classplay import new_tournament
from sim.ui.app import App
from sim.ui.demo import press


@pytest.fixture
def server(tmp_path):
    tournament, key, _ = new_tournament(small("coffee", 2000), ["Red", "Blue"], tmp_path / "class.json")
    s = ServerThread(Classroom(tournament, key, tmp_path / "state"), rate=1000, burst=1000)
    yield s
    s.stop()


def test_the_window_plays_a_whole_game_on_the_server_and_shows_the_released_debrief(server, tmp_path):
    room = server.classroom
    session = RemoteSession.join(server.url, "Red", room.teams["Red"].code, timeout=60)
    app = App(size=(1280, 720), home=tmp_path / "home", tour=False)
    try:
        app.open_session(session)
        app.pump(2)
        assert app.scenes.top.name == "dashboard" and app.session is session
        # Over budget in the window: the solo game's message, and nothing reaches the server.
        press(app, pygame.K_e)
        assert app.scenes.top.name == "decisions"
        first = session.public.channel_names[0]
        app.plan.acquisition[first] = 10 * session.public.budget.marketing
        press(app, pygame.K_RETURN, frames=3)
        assert app.scenes.top.name == "decisions" and app.scenes.top.message.startswith("Over budget")
        assert room.teams["Red"].turn == 1
        app.editor.reset(session.default_plan())
        # The instructor closes turn 1 while the team is deciding: the window says so, stays on
        # the decisions for turn 2 with the plan still there, and nothing of it was played.
        room.close_turn()
        press(app, pygame.K_RETURN, frames=3)
        assert app.scenes.top.name == "decisions"
        assert app.scenes.top.message.startswith("The instructor closed quarter 1: your last plan was played")
        assert session.turn == 2 and session.closed_turns == [1] and room.teams["Red"].closed == [1]
        assert session.decisions[0] == room.teams["Red"].decisions[0]
        for turn in range(2, room.scenario.turns + 1):
            if app.scenes.top.name != "decisions":
                press(app, pygame.K_e)
            press(app, pygame.K_RETURN, frames=3)
            assert app.scenes.top.name == "results", app.scenes.top.message
            assert session.turn == turn + 1 == room.teams["Red"].turn
            if turn < room.scenario.turns:
                press(app, pygame.K_RETURN)
                assert app.scenes.top.name == "dashboard"
        assert [r.books for r in session.results] == [r.books for r in room.teams["Red"].game.results]
        while not room.all_done:
            room.close_turn()
        room.release()
        press(app, pygame.K_RETURN)
        scene = app.scenes.top
        assert scene.name == "debrief"
        assert scene.wait(300), scene.error
        rows, _refs = room.results()
        assert scene.debrief.player.firm_value == pytest.approx(next(r["firm_value"] for r in rows if r["team"] == "Red"))
        app.pump(2)
    finally:
        pygame.quit()
        session.close()
