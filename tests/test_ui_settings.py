"""settings.json is read defensively and written atomically (issue 21, item 9).

A table of hostile settings files: each gives the defaults (or keeps the
good entries) with a one-line message, never an exception, never a blocked
read, never a window bigger than the screen or the documented maximum.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pygame
import pytest

from sim.ui.settings import MAX_SETTINGS_BYTES, MAX_WINDOW, MIN_SIZE, Settings, fit_window

DEFAULT = Settings()


@pytest.fixture(autouse=True)
def time_limit():
    """A read that blocks (a FIFO opened for reading) fails the test instead of hanging it."""
    def expired(*_):
        raise TimeoutError("reading settings blocked")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def write(home: Path, text: str | bytes) -> None:
    path = home / "settings.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


@pytest.mark.parametrize("content, field", [
    ('{"window": [Infinity, 720]}', "not valid JSON"),
    ('{"window": [NaN, 720]}', "not valid JSON"),
    ('{"window": ["1280", "720"]}', "window"),
    ('{"window": [-1280, 720]}', "window"),
    ('{"window": [1280]}', "window"),
    ('{"window": [1280, 720, 3]}', "window"),
    ('{"window": [true, 720]}', "window"),
    ('{"window": [1280.5, 720]}', "window"),
    ('{"window": [10, 10]}', "window"),
    ('{"window": {"w": 1280}}', "window"),
    ('{"window": [[[1280]], {"x": []}]}', "window"),
    ('{"fullscreen": "no"}', "fullscreen"),
    ('{"fullscreen": 1}', "fullscreen"),
    ('{"fullscreen": null}', "fullscreen"),
    ('{"large_text": "yes"}', "large_text"),
    ('{"palette": "neon"}', "palette"),
    ('{"palette": ["standard"]}', "palette"),
    ('["window", 1280, 720]', "not a JSON object"),
    ('"settings"', "not a JSON object"),
    ('{"window": [1280, 720]', "not valid JSON"),
    ("[" * 30_000 + "]" * 30_000, "not valid JSON"),
    (b'{"palette": "\xff\xfe"}', "not valid JSON"),
    ("", "not valid JSON"),
])
def test_a_bad_settings_file_gives_the_defaults_and_one_line(tmp_path, content, field):
    write(tmp_path, content)
    settings, message = Settings.load(tmp_path)
    assert settings == DEFAULT
    assert message.startswith("settings.json: ") and field in message
    assert "\n" not in message and len(message) < 200


def test_the_good_entries_are_kept_when_one_is_bad(tmp_path):
    write(tmp_path, json.dumps({"window": [1600, 900], "fullscreen": "no", "palette": "standard",
                                "large_text": True, "colour": "red"}))
    settings, message = Settings.load(tmp_path)
    assert settings.window == (1600, 900) and settings.palette == "standard" and settings.large_text
    assert settings.fullscreen is False                  # "no" is refused, not read as true
    assert "fullscreen" in message and 'unknown entries ignored: "colour"' in message


def test_booleans_are_exactly_true_and_false(tmp_path):
    write(tmp_path, '{"fullscreen": true, "large_text": false, "tour_done": true}')
    settings, message = Settings.load(tmp_path)
    assert (settings.fullscreen, settings.large_text, settings.tour_done) == (True, False, True)
    assert message == ""


def test_a_huge_window_is_reduced_to_the_screen_or_the_documented_maximum(tmp_path):
    write(tmp_path, '{"window": [100000, 100000]}')
    settings, message = Settings.load(tmp_path)
    assert settings.window == MAX_WINDOW and message == ""
    assert fit_window((100000, 100000), (1920, 1080)) == (1920, 1080)
    assert fit_window((100000, 100000), None) == MAX_WINDOW
    assert fit_window((1280, 720), (1024, 768)) == (1024, 720)
    assert fit_window((10, 10), None) == MIN_SIZE
    # The window the game opens (headless: the display cannot tell its size).
    from sim.ui.app import App

    app = App(home=tmp_path, tour=False)
    assert app.size == MAX_WINDOW
    pygame.quit()


@pytest.mark.parametrize("kind", ["fifo", "folder", "dev_zero", "too_big", "dangling"])
def test_a_settings_path_that_is_not_a_small_regular_file_is_ignored_without_blocking(tmp_path, kind):
    path = tmp_path / "settings.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "too_big":
        path.write_text('{"palette": "standard", "pad": "' + "x" * MAX_SETTINGS_BYTES + '"}')
    else:
        path.symlink_to(tmp_path / "nowhere.json")
    settings, message = Settings.load(tmp_path)
    assert settings == DEFAULT
    if kind == "dangling":
        assert message == ""                              # no file: the defaults, nothing to say
    else:
        assert message.startswith("settings.json: ") and ("regular file" in message or "KiB" in message)


def test_settings_are_written_atomically_and_a_folder_in_the_way_is_a_message(tmp_path):
    s = Settings(window=(1600, 900), palette="standard", large_text=True)
    assert s.save(tmp_path) == ""
    assert Settings.load(tmp_path) == (s, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]     # no temporary left
    (tmp_path / "settings.json").unlink()
    (tmp_path / "settings.json").mkdir()
    message = s.save(tmp_path)
    assert message.startswith("settings.json: could not be saved")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_the_game_starts_with_bad_settings_and_says_so_on_the_title(tmp_path):
    from sim.ui.app import App

    write(tmp_path, '{"window": [Infinity, 720], "fullscreen": "no"}')
    app = App(home=tmp_path, tour=False)
    app.pump(2)
    assert app.scenes.top.name == "title"
    assert "settings.json" in app.scenes.top.message
    assert not app.settings.fullscreen and app.size == (1280, 720)
    pygame.quit()
