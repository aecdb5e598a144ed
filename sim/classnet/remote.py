"""A team's game on a class server, behind the same interface as a game on this machine.

``RemoteSession`` implements ``sim.session_api.GameSession``: the window
(``sim.ui``) cannot tell it from ``sim.session.PlayerSession``.  The
engine, the seed and the latent market stay on the server; this side holds
what a player may see:

* the observation, rebuilt from the deltas the server sends
  (``sim.tournament.protocol.ObservationMirror``, the bots' mirror);
* the analytics lab, fitted here on that observation (``PlanningSession``:
  the same preview, projection and refusals as a solo game, so an
  over-budget plan is refused here with the solo game's message before
  anything is sent);
* the decisions and the books of the turns played.

A decision goes to the server as JSON (``sim.records.encode_decision``);
the server plays it and answers with the turn's books and the next
observation's delta, or a refusal that becomes the same ``DecisionError``
a solo game raises.  A window that crashed joins again with its code and
gets the whole game so far.  The debrief needs the market: the server
sends it only once the instructor releases the debrief.

``Channel`` is the websocket: an aiohttp client on an event loop in its own
thread, so the window's thread just calls and waits.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from pathlib import Path
from typing import Callable

import aiohttp

from ..decisions import DecisionError
from ..engine import TurnResult
from ..errors import GameStateError, SimError
from ..observation import Observation, TurnBooks
from ..records import GameRecord, encode_decision, write_record
from ..scenario import ScenarioError, parse_scenario
from ..session import Lab, Plan, PlanningSession
from ..treatment import TreatmentLog
from ..tournament.protocol import ObservationMirror
from . import wire

#: Seconds to wait for the server to answer (a turn of a whole class takes a second or two).
TIMEOUT = 120.0
#: Seconds between ``reveal`` questions while the debrief is not released.
REVEAL_POLL = 2.0


class ConnectionLost(SimError):
    """The server cannot be reached or closed the connection; join again with the code."""


class JoinRefused(SimError):
    """The server refused to let this window join (a wrong code, the team already connected)."""


class Channel:
    """A websocket to the class server, used from one ordinary thread.

    Args:
        url: the server's address, ``http://HOST:PORT``.
        timeout: seconds to wait for a connection or an answer.

    Raises:
        ConnectionLost: the server cannot be reached.
    """

    def __init__(self, url: str, timeout: float = TIMEOUT):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._inbox: queue.Queue = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ccsim-channel", daemon=True)
        self._thread.start()
        try:
            self._call(self._open())
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
            self.close()
            raise ConnectionLost(f"{self.url}: cannot reach the class server ({exc or type(exc).__name__})") \
                from None

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(self.timeout)

    async def _open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(connect=self.timeout))
        ws_url = self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/ws"
        try:
            self._ws = await self._session.ws_connect(ws_url, max_msg_size=wire.MAX_SERVER_MESSAGE,
                                                      heartbeat=10.0)
        except BaseException:
            await self._session.close()
            raise
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self._ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    try:
                        self._inbox.put(wire.loads(msg.data, wire.MAX_SERVER_MESSAGE))
                    except wire.ProtocolError as exc:
                        self._inbox.put({"op": "broken", "message": str(exc)})
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    break
        finally:
            self._inbox.put(None)

    def send(self, message: dict) -> None:
        """Send one message (``ConnectionLost`` if the server is gone)."""
        try:
            self._call(self._ws.send_str(wire.dumps(message)))
        except (aiohttp.ClientError, ConnectionError, RuntimeError, asyncio.TimeoutError) as exc:
            raise ConnectionLost(f"{self.url}: the connection to the class server is lost ({exc}); "
                                 "join again with your code") from None

    def send_raw(self, data: str | bytes) -> None:
        """Send a frame as it is (text or binary): for tests of what the server refuses."""
        send = self._ws.send_str if isinstance(data, str) else self._ws.send_bytes
        self._call(send(data))

    def receive(self, timeout: float | None = None) -> dict | None:
        """The next message, waiting up to ``timeout`` (None: the channel's); None if none came.

        Raises:
            ConnectionLost: the server closed the connection.
        """
        try:
            message = self._inbox.get(timeout=self.timeout if timeout is None else timeout)
        except queue.Empty:
            return None
        if message is None:
            self._inbox.put(None)     # every later receive says so too
            raise ConnectionLost(f"{self.url}: the class server closed the connection; join again "
                                 "with your code")
        return message

    def pending(self) -> list[dict]:
        """Every message already received, without waiting."""
        out = []
        while True:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return out
            if message is None:
                self._inbox.put(None)
                return out
            out.append(message)

    def close(self) -> None:
        """Close the connection and stop the thread (safe to call twice)."""
        if not self._loop.is_running():
            return

        async def shut() -> None:
            ws = getattr(self, "_ws", None)
            if ws is not None:
                await ws.close()
            session = getattr(self, "_session", None)
            if session is not None:
                await session.close()

        try:
            self._call(shut())
        except Exception:  # noqa: BLE001 - closing a broken connection: nothing left to save
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class RemoteSession(PlanningSession):
    """A team's game on a class server (``sim.session_api.GameSession``).

    Usage::

        session = RemoteSession.join("http://10.0.0.5:8765", "Red", code)
        result = session.end_turn(session.default_plan())

    Attributes:
        team: the team's name.
        tournament: the tournament's name.
        seed: -1 (the server keeps the market's seed; the debrief tells it).
        autosave_path: None (the server saves the game after every turn).
    """

    def __init__(self, channel: Channel, welcome: dict):
        self.channel = channel
        self.team = str(welcome.get("team", ""))
        self.tournament = str(welcome.get("tournament", ""))
        self.public = wire.public_from_json(welcome.get("public"))
        self.seed = -1
        self.autosave_path: Path | None = None
        self.lab = Lab()
        self.decisions: list = []
        self.plans: list[Plan] = []
        self.tier_outcomes: list = []
        #: What this window's plans did to each customer (the equity estimate's covariate);
        #: turns played before a rejoin, or closed by the instructor, are not in it.
        self.treatment = TreatmentLog()
        self._estimate = None
        self._results: list[TurnResult] = []
        self._released: dict | None = None
        self._closed: list[int] = []
        self._mirror = ObservationMirror(self.public, self.public.warmup_turns + self.public.turns)
        self._observation = self._mirror.apply(wire.decode_delta(welcome.get("observation")))
        for entry in welcome.get("history") or []:
            self._played(entry)
        self._check_turn()
        if not self.done:
            self.refit()

    @classmethod
    def join(cls, url: str, team: str, code: str, timeout: float = TIMEOUT) -> "RemoteSession":
        """Join the class server at ``url`` as ``team`` (a rejoin continues where the team was).

        Raises:
            ConnectionLost: the server cannot be reached.
            JoinRefused: a wrong team or code, or the team connected from another window.
        """
        channel = Channel(url, timeout)
        try:
            channel.send({"op": "join", "team": team, "code": code})
            reply = channel.receive()
            if reply is None:
                raise ConnectionLost(f"{url}: the class server did not answer in {timeout:.0f} s")
            if reply.get("op") == "refused":
                raise JoinRefused(str(reply.get("message")))
            if reply.get("op") != "welcome":
                raise wire.ProtocolError(f"expected a welcome, got {str(reply.get('op'))[:40]!r}")
            return cls(channel, reply)
        except BaseException:
            channel.close()
            raise

    def close(self) -> None:
        self.channel.close()

    # ------------------------------------------------------------ what the window reads
    @property
    def observation(self) -> Observation:
        return self._observation

    @property
    def turn(self) -> int:
        return self._observation.turn

    @property
    def done(self) -> bool:
        return self.turn > self.public.turns

    @property
    def books(self) -> tuple[TurnBooks, ...]:
        return self._observation.books

    @property
    def results(self) -> list[TurnResult]:
        return self._results

    @property
    def closed_turns(self) -> list[int]:
        """Turns the instructor closed for this team (its last plan was played)."""
        return list(self._closed)

    # ------------------------------------------------------------ messages from the server
    def _played(self, entry: dict) -> None:
        turn, decision, result, outcomes, closed = wire.read_history_entry(
            entry, max_rows=self.public.prospects)
        if turn != len(self._results) + 1:
            raise wire.ProtocolError(f"turn {turn} arrived after turn {len(self._results)}")
        self.decisions.append(decision)
        self.plans.append(Plan.from_decision(decision, self.public.channel_names))
        self.tier_outcomes.append(outcomes)
        self._results.append(result)
        if closed:
            self._closed.append(turn)

    def _check_turn(self) -> None:
        if self.turn != len(self._results) + 1:
            raise wire.ProtocolError(f"the observation is of turn {self.turn} after "
                                     f"{len(self._results)} turns played")

    def _apply(self, message: dict) -> list[dict]:
        """Take in one message from the server; the turns it played (empty for others)."""
        op = message.get("op")
        if op == "turn":
            played = list(message.get("played") or [])
            for entry in played:
                self._played(entry)
            self._observation = self._mirror.apply(wire.decode_delta(message.get("observation")))
            self._check_turn()
            if not self.done:
                self.refresh() if self.lab.value is not None else self.refit()
            return played
        if op == "released":
            self._released = message
        elif op == "broken":
            raise wire.ProtocolError(str(message.get("message")))
        return []

    def _catch_up(self) -> None:
        for message in self.channel.pending():
            self._apply(message)

    # ------------------------------------------------------------ playing
    def end_turn(self, plan: Plan) -> TurnResult:
        """Send ``plan`` as this turn's decision; the turn's result once the server played it.

        Raises:
            DecisionError: refused here (the solo game's message) or by the
                server (a turn the instructor closed meanwhile: the team's last
                plan was played for it, and this is the next turn); nothing of
                this plan was played.
            GameStateError: the game is over.
            ConnectionLost: the server is gone (join again with the code).
        """
        turn = self.turn
        self._catch_up()
        if self.turn != turn:
            raise DecisionError(self._closed_message(turn))
        if self.done:
            raise GameStateError("the game is over")
        preview, assignment = self._resolve(plan)
        if preview.problem:
            raise DecisionError(preview.problem)
        from ..score_columns import essential_scores

        obs = self._observation
        decision = essential_scores(plan.decision(self.lab.columns()), obs.n_customers, set(obs.columns))
        self.channel.send({"op": "end_turn", "turn": turn, "decision": encode_decision(decision)})
        while True:
            message = self.channel.receive()
            if message is None:
                raise ConnectionLost(f"{self.channel.url}: no answer from the class server in "
                                     f"{self.channel.timeout:.0f} s; join again with your code")
            if message.get("op") == "refused":
                if message.get("reason") == "turn" and self.turn == turn:
                    self._sync()      # the server is past this turn: catch up before saying so
                if self.turn != turn:
                    raise DecisionError(self._closed_message(turn))
                raise DecisionError(str(message.get("message")))
            played = self._apply(message)
            if any(e.get("turn") == turn and not e.get("closed") for e in played):
                self.plans[-1] = plan.copy()
                self.treatment.record_assignment(obs.turn, assignment, decision)
                self._start_estimate()
                return self._results[turn - 1]

    def _sync(self) -> None:
        """Ask the server for the turns this window lacks and take them in."""
        self.channel.send({"op": "sync", "have": len(self._results)})
        while True:
            message = self.channel.receive()
            if message is None:
                raise ConnectionLost(f"{self.channel.url}: no answer from the class server in "
                                     f"{self.channel.timeout:.0f} s; join again with your code")
            self._apply(message)
            if message.get("op") in ("turn", "refused"):
                return

    def _closed_message(self, turn: int) -> str:
        if self.done:
            return (f"The instructor closed {self.public.turn_length} {turn}: your last plan was played "
                    "for it, and the game is over.")
        return (f"The instructor closed {self.public.turn_length} {turn}: your last plan was played for it. "
                f"This is {self.public.turn_length} {self.turn}; end it to play this plan.")

    # ------------------------------------------------------------ the end
    def _wait_for_release(self, progress: Callable[[str, float], None] | None) -> dict:
        self._catch_up()
        while self._released is None:
            self.channel.send({"op": "reveal"})
            while True:
                message = self.channel.receive()
                if message is None or message.get("op") == "waiting":
                    break
                self._apply(message)
                if self._released is not None:
                    break
            if self._released is None:
                if progress:
                    progress("waiting for the instructor to release the debrief", 0.0)
                # Waits on the inbox: a release pushed meanwhile ends the wait at once.
                message = self.channel.receive(REVEAL_POLL)
                if message is not None:
                    self._apply(message)
        return self._released

    def _scenario(self, released: dict):
        try:
            return parse_scenario(released.get("scenario"), "the released market", key=str(released.get("key")))
        except ScenarioError as exc:
            raise wire.ProtocolError(f"the released market: {exc}") from None

    def reveal(self, progress: Callable[[str, float], None] | None = None):
        """The debrief, once the instructor releases it (waits until then; call off the UI thread)."""
        from ..debrief import debrief_of

        released = self._wait_for_release(progress)     # turns the instructor closed arrive first
        if not self.done:
            raise GameStateError("the game is not over")
        return debrief_of(self._scenario(released), int(released["seed"]), list(self.decisions),
                          progress=progress, played_by=self.team)

    def game_record(self, scores: dict | None = None) -> GameRecord:
        """The team's finished record (after the release: it needs the market)."""
        from ..records import record_of
        from ..runner import replay_game

        released = self._wait_for_release(None)
        played = replay_game(self._scenario(released), int(released["seed"]), list(self.decisions), self.team)
        return record_of(played, scores)

    def save(self, path: str | Path) -> Path:
        """Write the team's record (after the release; the server keeps the game before it)."""
        if self._released is None:
            raise GameStateError("the class server keeps this game: it is saved there after every turn")
        return write_record(self.game_record(), path)
