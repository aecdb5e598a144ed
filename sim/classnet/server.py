"""``ccsim serve``: the class server, an asynchronous aiohttp web application.

One process on the instructor's machine holds every team's engine
(``sim.classnet.classroom``).  Routes:

* ``GET /ws``: a team's game channel (a websocket of JSON messages, see
  ``sim.classnet.wire``).  The first message joins with the team's code; a
  second client for a team already connected is refused until the first
  is gone.  Each connection may send a few messages a second
  (``RATE_PER_SECOND``, bursts of ``RATE_BURST``); more are refused.
* ``GET /instructor?token=T``: the instructor's page (``pages``); ``POST
  /instructor/close`` and ``/instructor/release`` its two controls; ``GET
  /instructor/leaderboard.csv?token=T``; ``GET /i/T/report/N/FILE`` each
  team's HTML report (the token in the path, so the report's relative
  links to its charts work).
* ``GET /``: how to join.

The engines run in a small thread pool (``WORKERS``) so the event loop
keeps answering while turns are played; one lock per team keeps a team's
turns, pushes and welcome in order.  The server never runs anything a
client sends: messages are JSON, decoded field by field.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import time

from aiohttp import WSMsgType, web

from ..decisions import DecisionError
from ..tournament.protocol import ObservationDelta
from . import pages, wire
from .classroom import ClassServerError, Classroom, TeamGame

#: Messages a connection may send per second, sustained.
RATE_PER_SECOND = 4.0
#: Messages a connection may send at once before the rate applies.
RATE_BURST = 8
#: Threads playing turns (the machine's cores; more only fight over them).
WORKERS = 2
#: Seconds between websocket pings; a client silent for twice this is gone.
HEARTBEAT = 10.0

CLASSROOM = web.AppKey("classroom", Classroom)
STATE = web.AppKey("state", dict)


class RateLimit:
    """A token bucket: ``burst`` messages at once, then ``rate`` a second."""

    def __init__(self, rate: float = RATE_PER_SECOND, burst: int = RATE_BURST):
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.last = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Connection:
    """One team's open game channel: its socket and the observation deltas sent on it."""

    def __init__(self, ws: web.WebSocketResponse, team: TeamGame):
        self.ws, self.team = ws, team
        self.delta = ObservationDelta()


def make_app(classroom: Classroom, rate: float = RATE_PER_SECOND, burst: int = RATE_BURST) -> web.Application:
    """The web application for ``classroom`` (serve it with ``aiohttp.web``).

    Args:
        classroom: the class's games.
        rate: messages a connection may send per second, sustained.
        burst: messages a connection may send at once.
    """
    app = web.Application(client_max_size=64 * 1024)
    app[CLASSROOM] = classroom
    app[STATE] = {"executor": concurrent.futures.ThreadPoolExecutor(WORKERS, "ccsim-turn"),
                  "locks": {t: asyncio.Lock() for t in classroom.teams},
                  "connections": {}, "results": None, "message": "",
                  "rate": (float(rate), int(burst))}
    app.router.add_get("/", front)
    app.router.add_get("/ws", game_channel)
    app.router.add_get("/instructor", instructor)
    app.router.add_post("/instructor/close", close_turn)
    app.router.add_post("/instructor/release", release)
    app.router.add_get("/instructor/leaderboard.csv", leaderboard)
    app.router.add_get("/i/{token}/report/{n}/{file}", report_file)
    app.on_cleanup.append(_cleanup)
    return app


async def _cleanup(app: web.Application) -> None:
    for conn in list(app[STATE]["connections"].values()):
        await conn.ws.close()
    app[STATE]["executor"].shutdown(wait=True)


async def _run(app: web.Application, fn, *args):
    """``fn(*args)`` on the turn threads (the event loop keeps serving)."""
    return await asyncio.get_running_loop().run_in_executor(app[STATE]["executor"], fn, *args)


# ---------------------------------------------------------------- the game channel
async def _send(ws: web.WebSocketResponse, message: dict) -> None:
    """Send ``message``; a socket that went away meanwhile is that team's loss alone (it rejoins)."""
    if ws.closed:
        return
    try:
        await ws.send_str(wire.dumps(message))
    except (ConnectionError, RuntimeError):
        pass


def _refused(message: str, reason: str) -> dict:
    return {"op": "refused", "message": message, "reason": reason}


def _welcome(classroom: Classroom, conn: Connection) -> dict:
    team = conn.team
    return {"op": "welcome", "team": team.team, "tournament": classroom.tournament.name,
            "public": wire.public_to_json(team.game.public),
            "observation": wire.encode_delta(conn.delta.delta(team.game.observation)),
            "history": list(team.history), "released": classroom.released}


def _turn_message(conn: Connection, played: list[dict]) -> dict:
    return {"op": "turn", "observation": wire.encode_delta(conn.delta.delta(conn.team.game.observation)),
            "played": played}


async def game_channel(request: web.Request) -> web.WebSocketResponse:
    """A team's websocket: join, then end turns and ask for the debrief."""
    app = request.app
    state = app[STATE]
    # Twice the protocol's cap: a message between the two gets a clear refusal, a larger
    # one closes the socket (code 1009) before it is read whole.
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=2 * wire.MAX_CLIENT_MESSAGE)
    await ws.prepare(request)
    limit = RateLimit(*state["rate"])
    conn: Connection | None = None
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            if not limit.allow():
                await _send(ws, _refused("too many messages: a window sends at most "
                                         f"{limit.rate:g} a second; this one was ignored", "rate"))
                continue
            try:
                data = wire.loads(msg.data, wire.MAX_CLIENT_MESSAGE)
            except wire.ProtocolError as exc:
                await _send(ws, _refused(f"not understood: {exc}", "malformed"))
                continue
            if conn is None:
                conn = await _join(app, ws, data)
                continue
            await _handle(app, conn, data)
    finally:
        if conn is not None:
            conn.team.connected = False
            if state["connections"].get(conn.team.team) is conn:
                del state["connections"][conn.team.team]
    return ws


async def _join(app: web.Application, ws: web.WebSocketResponse, data: dict) -> Connection | None:
    classroom, state = app[CLASSROOM], app[STATE]
    if data["op"] != "join":
        await _send(ws, _refused('join first: {"op": "join", "team": ..., "code": ...}', "not-joined"))
        return None
    try:
        team = classroom.check_code(data.get("team"), data.get("code"))
    except ClassServerError as exc:
        await _send(ws, _refused(str(exc), "code"))
        return None
    if team.connected:
        await _send(ws, _refused(f"team {team.team} is already connected from another window; close "
                                 "that one first (a window that crashed is let go within "
                                 f"{2 * HEARTBEAT:.0f} seconds)", "connected"))
        return None
    conn = Connection(ws, team)
    team.connected = team.joined = True
    state["connections"][team.team] = conn
    async with state["locks"][team.team]:
        await _send(ws, await _run(app, _welcome, classroom, conn))
    return conn


async def _handle(app: web.Application, conn: Connection, data: dict) -> None:
    classroom, state = app[CLASSROOM], app[STATE]
    op, ws, team = data["op"], conn.ws, conn.team
    if op == "end_turn":
        async with state["locks"][team.team]:
            try:
                entry = await _run(app, classroom.end_turn, team, data.get("turn"), data.get("decision"))
            except ClassServerError as exc:
                await _send(ws, _refused(str(exc), "turn"))
                return
            except DecisionError as exc:
                await _send(ws, _refused(str(exc), "decision"))
                return
            await _send(ws, await _run(app, _turn_message, conn, [entry]))
    elif op == "sync":
        # A window that missed a push (the instructor closed a turn while its message was on
        # the way) asks for what it lacks: the turns after its ``have`` and the observation now.
        async with state["locks"][team.team]:
            have = data.get("have")
            if not isinstance(have, int) or isinstance(have, bool) or not 0 <= have <= len(team.history):
                await _send(ws, _refused(f"have: a number of turns 0 .. {len(team.history)}", "malformed"))
                return
            await _send(ws, await _run(app, _turn_message, conn, team.history[have:]))
    elif op == "reveal":
        await _send(ws, classroom.released_message() if classroom.released else {"op": "waiting"})
    elif op == "join":
        await _send(ws, _refused(f"already joined as team {team.team}", "joined"))
    else:
        await _send(ws, _refused(f"unknown op {str(op)[:40]!r} (join, end_turn, sync, reveal)", "malformed"))


# ---------------------------------------------------------------- the instructor
def _token_ok(request: web.Request, token: object) -> None:
    if not request.app[CLASSROOM].check_instructor(token):
        raise web.HTTPForbidden(text="the instructor's token is missing or wrong (it was printed "
                                     "when the server started)")


async def front(request: web.Request) -> web.Response:
    return web.Response(text=pages.join_page(request.app[CLASSROOM]), content_type="text/html")


async def _results(app: web.Application):
    state = app[STATE]
    if state["results"] is None:
        state["results"] = await _run(app, app[CLASSROOM].results)
    return state["results"]


async def instructor(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    _token_ok(request, token)
    app = request.app
    classroom = app[CLASSROOM]
    results = await _results(app) if classroom.released else None
    message, app[STATE]["message"] = app[STATE]["message"], ""
    return web.Response(text=pages.instructor_page(classroom, token, message, results),
                        content_type="text/html")


async def close_turn(request: web.Request) -> web.Response:
    form = await request.post()
    token = form.get("token", "")
    _token_ok(request, token)
    app = request.app
    classroom, state = app[CLASSROOM], app[STATE]
    locks = [state["locks"][t] for t in classroom.teams]
    for lock in locks:          # every team's lock, in one order: no turn is half played
        await lock.acquire()
    try:
        turn, moved = await _run(app, classroom.close_turn)
        for team in moved:
            conn = state["connections"].get(team.team)
            if conn is not None:
                await _send(conn.ws, await _run(app, _turn_message, conn, [team.history[-1]]))
    finally:
        for lock in locks:
            lock.release()
    state["message"] = (f"Turn {turn} closed: {', '.join(t.team for t in moved)} played their last plan."
                        if turn is not None else "Every game is over.")
    raise web.HTTPSeeOther(f"/instructor?token={token}")


async def release(request: web.Request) -> web.Response:
    form = await request.post()
    token = form.get("token", "")
    _token_ok(request, token)
    app = request.app
    classroom, state = app[CLASSROOM], app[STATE]
    try:
        classroom.release()
    except ClassServerError as exc:
        state["message"] = str(exc)
        raise web.HTTPSeeOther(f"/instructor?token={token}") from None
    for conn in list(state["connections"].values()):
        await _send(conn.ws, classroom.released_message())
    await _results(app)
    state["message"] = "The debrief is released: every team's window shows its reveal."
    raise web.HTTPSeeOther(f"/instructor?token={token}")


async def leaderboard(request: web.Request) -> web.Response:
    _token_ok(request, request.query.get("token", ""))
    classroom = request.app[CLASSROOM]
    if not classroom.released:
        raise web.HTTPConflict(text="the leaderboard is ready once the debrief is released")
    rows, _references = await _results(request.app)
    return web.Response(text=classroom.leaderboard_csv(rows), content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="leaderboard.csv"'})


async def report_file(request: web.Request) -> web.StreamResponse:
    _token_ok(request, request.match_info["token"])
    classroom = request.app[CLASSROOM]
    if not classroom.released:
        raise web.HTTPConflict(text="the reports are ready once the debrief is released")
    try:
        index = int(request.match_info["n"]) - 1
        team = list(classroom.teams.values())[index]
        if index < 0:
            raise IndexError
    except (ValueError, IndexError):
        raise web.HTTPNotFound(text="no such team") from None
    name = request.match_info["file"]
    page = await _run(request.app, classroom.write_team_report, team)
    files = {p.name: p for p in page.parent.iterdir() if p.is_file()}
    if name not in files:        # only the report's own files, by exact name
        raise web.HTTPNotFound(text="no such file in the report")
    return web.FileResponse(files[name])


# ---------------------------------------------------------------- running it
def announce(classroom: Classroom, url: str, out=sys.stdout) -> None:
    """Print the address, the join codes and the instructor's page (at start)."""
    print(f"class server for {classroom.tournament.name} ({classroom.scenario.name}, "
          f"{classroom.scenario.prospects:,} prospects) at {url}", file=out)
    print(f"state kept in {classroom.state} (a restart with the same --state resumes every game)", file=out)
    print("join codes (give each team its own):", file=out)
    for team in classroom.teams.values():
        print(f"  {team.team:<16} ccsim play --join {url} --team {team.team} --code {team.code}", file=out)
    print(f"instructor's page: {url}/instructor?token={classroom.instructor_token}", file=out, flush=True)


def serve(classroom: Classroom, host: str, port: int, out=sys.stdout, rate: float = RATE_PER_SECOND) -> None:
    """Serve ``classroom`` until interrupted (Ctrl-C); the state is on disk after every turn.

    Args:
        rate: messages a window may send per second (bursts of twice that).
    """
    shown = host if host not in ("0.0.0.0", "::", "") else _local_address()
    announce(classroom, f"http://{shown}:{port}", out)
    web.run_app(make_app(classroom, rate, max(RATE_BURST, int(2 * rate))), host=host, port=port,
                print=None, handle_signals=True)


class ServerThread:
    """A class server on a thread of this process (tests, benchmarks, embedding).

    Args:
        classroom: the class's games.
        host: address to listen on.
        port: port (0: a free one, see ``url``).
        rate, burst: the per-connection message rate limit.
    """

    def __init__(self, classroom: Classroom, host: str = "127.0.0.1", port: int = 0,
                 rate: float = RATE_PER_SECOND, burst: int = RATE_BURST):
        import threading

        self.classroom = classroom
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ccsim-server", daemon=True)
        self._thread.start()
        self._runner = web.AppRunner(make_app(classroom, rate, burst))
        self.port = asyncio.run_coroutine_threadsafe(self._start(host, port), self.loop).result(30)
        self.url = f"http://{host}:{self.port}"

    async def _start(self, host: str, port: int) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        return site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Close every connection and stop serving."""
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def _local_address() -> str:
    """This machine's address on the classroom network (the teams' way in), or localhost."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))     # no packet is sent: picks the outgoing interface
            return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"

