"""A referral game's referred_by, referrals and experiment arms reach every kind of player.

Bots in ``ccsim run`` and tournaments play sandboxed (their observation is
rebuilt from deltas in their own process) and class play rebuilds it from
the server's JSON deltas: each must see exactly the arrays of the
in-process observation, the referral fields and the holdout tests' arms
included.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim import Game
from sim.classnet import wire
from sim.classnet.remote import RemoteSession
from sim.classnet.server import ServerThread
from sim.classnet.classroom import Classroom
from sim.decisions import Decision, Tier
from sim.scenario import load_scenario
from sim.session import Plan, PlayerSession, TierPlan
from sim.tournament.classplay import new_tournament
from sim.tournament.protocol import ObservationDelta, ObservationMirror
from sim.tournament.sandbox import SandboxedBot

STUDIO = Path(__file__).parent / "data" / "referral_studio.yaml"
FIELDS = ("referred_by", "referrals", "experiment_arm")
#: A holdout test on the top 30% by profit: experiment arms of both signs every turn.
TEST_TIER = Tier("test", {"top": 0.3, "by": "profit"}, 5.0, 0.25)


def _studio(prospects: int = 4_000, turns: int = 6):
    return replace(load_scenario(STUDIO).with_prospects(prospects), turns=turns)


def digest(observation) -> str:
    """What the bot below names its tier: a hash of the three arrays' bytes and dtypes."""
    h = hashlib.sha256()
    for name in FIELDS:
        a = getattr(observation, name)
        h.update(b"none" if a is None else np.ascontiguousarray(a).tobytes() + str(a.dtype).encode())
    return h.hexdigest()[:16]


BOT = textwrap.dedent('''
    import hashlib

    import numpy as np

    from sim.decisions import Decision, Tier


    class Bot:
        name = "digest"

        def reset(self, scenario, seed=None):
            self.scenario = scenario

        def decide(self, observation, truth=None):
            h = hashlib.sha256()
            for name in ("referred_by", "referrals", "experiment_arm"):
                a = getattr(observation, name)
                h.update(b"none" if a is None
                         else np.ascontiguousarray(a).tobytes() + str(a.dtype).encode())
            share = 0.3 * self.scenario.budget.marketing / len(self.scenario.channels)
            return Decision({c.name: share for c in self.scenario.channels},
                            (Tier(h.hexdigest()[:16], {"top": 0.3, "by": "profit"}, 5.0, 0.25),))
''')


def _assert_same(a, b) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x is not None and y is not None, name
        assert x.dtype == y.dtype and np.array_equal(x, y), name


def test_a_sandboxed_bot_sees_the_in_process_referrals_and_experiment_arms(tmp_path):
    path = tmp_path / "digest.py"
    path.write_text(BOT)
    scenario = _studio()
    game = Game(scenario)
    obs = game.reset(2)
    seen = []
    with SandboxedBot(path, memory_mb=0) as bot:
        bot.reset(game.public, 2)
        while not game.done:
            decision = bot.decide(obs)
            seen.append((decision.tiers[0].name, digest(obs)))
            obs, _ = game.step(decision)
    assert [mine for mine, _ in seen] == [engine for _, engine in seen]
    # The arrays hashed are not trivial: referrals made, referred customers, both arms.
    assert obs.referrals.sum() > 20 and (obs.referred_by >= 0).sum() > 20
    assert (obs.experiment_arm > 0).any() and (obs.experiment_arm < 0).any()


def test_the_delta_and_the_class_wire_rebuild_the_referral_fields_exactly():
    scenario = _studio()
    game = Game(scenario)
    obs = game.reset(3)
    columns = scenario.warmup_turns + scenario.turns
    delta = ObservationDelta()
    direct, wired = ObservationMirror(game.public, columns), ObservationMirror(game.public, columns)
    while True:
        d = delta.delta(obs)
        _assert_same(obs, direct.apply(d))
        sent = wire.loads(wire.dumps({"op": "turn", "observation": wire.encode_delta(d)}), 1 << 30)
        _assert_same(obs, wired.apply(wire.decode_delta(sent["observation"])))
        if game.done:
            break
        obs, _ = game.step(Decision({c.name: 1000.0 for c in scenario.channels}, (TEST_TIER,)))
    assert obs.referrals.sum() > 20 and (obs.experiment_arm < 0).any()


def test_a_game_without_referrals_sends_none_and_a_forged_change_is_refused():
    from conftest import small

    scenario = small("coffee", 2_000)
    game = Game(scenario)
    d = ObservationDelta().delta(game.reset(1))
    assert "referred_by" not in d["rows"] and "referrals" not in d["rows"]
    rebuilt = ObservationMirror(game.public, scenario.warmup_turns + scenario.turns).apply(d)
    assert rebuilt.referred_by is None and rebuilt.referrals is None
    encoded = wire.encode_delta(d)
    encoded["changed"]["referrals"] = [wire.encode_array(np.zeros(1, np.int64)),
                                       wire.encode_array(np.ones(1, np.int32))]
    with pytest.raises(wire.ProtocolError, match="observation.changed.referrals: no such column"):
        wire.decode_delta(encoded)


def test_a_class_team_sees_the_solo_games_referrals_and_experiment_arms(tmp_path):
    tournament, key, _ = new_tournament(_studio(3_000, 4), ["Red", "Blue"], tmp_path / "class.json")
    room = Classroom(tournament, key, tmp_path / "state")
    server = ServerThread(room, rate=1000, burst=1000)
    try:
        session = RemoteSession.join(server.url, "Red", room.teams["Red"].code, timeout=60)
        solo = PlayerSession.new(room.scenario, room.seed)
        try:
            for _ in range(3):
                _assert_same(solo.observation, session.observation)
                plan = Plan(dict(solo.default_plan().acquisition),
                            [TierPlan("test", TEST_TIER.rule, 5.0, False, 0.25)])
                solo.end_turn(plan)
                session.end_turn(plan.copy())
            _assert_same(solo.observation, session.observation)
            assert (session.observation.experiment_arm < 0).any()
            assert (session.observation.referred_by >= 0).any()
        finally:
            session.close()
    finally:
        server.stop()
