"""The settings screen: window size, full screen, large text, chart colours (saved)."""

from __future__ import annotations

import pygame

from .. import draw
from ..scene import Scene, register
from ..settings import WINDOW_SIZES


@register
class SettingsScene(Scene):
    """Window size, full screen, large text and the chart palette (saved for next time)."""

    name = "settings"

    def __init__(self, app):
        super().__init__(app)
        self.message = ""

    def build(self, rect: pygame.Rect) -> None:
        t = self.typo
        s = self.app.settings
        items = []
        for i, size in enumerate(WINDOW_SIZES):
            current = tuple(s.window) == size and not s.fullscreen
            items.append((f"size{i}", pygame.K_1 + i, f"Window {size[0]}x{size[1]}" + ("  (now)" if current else ""),
                          None, "tab_active" if current else None))
        items += [("fullscreen", pygame.K_f, f"Full screen: {'on' if s.fullscreen else 'off'}",
                   "F11 toggles full screen anywhere.", None),
                  ("large_text", pygame.K_t, f"Large text: {'on' if self.app.large_text else 'off'}",
                   "Bigger text everywhere, for a projector at the back of a lecture hall "
                   "(also: ccsim play --large-text).", "tab_active" if self.app.large_text else None),
                  ("palette", pygame.K_p, f"Chart colours: {s.palette}",
                   "Colour-blind safe uses the Okabe-Ito colours, readable with every common "
                   "colour-vision deficiency.", None)]
        w = max(self.button_width(label, key) for _, key, label, _, _ in items)
        w = min(rect.width - 2 * t.em, max(w, t.em * 20))
        h, gap = t.control, max(6, t.em // 2)
        x, y = rect.centerx - w // 2, rect.top + t.em * 2 + t.line("title")
        for intent, key, label, tip, oid in items:
            self.action(intent, key, label, pygame.Rect(x, y, w, h), tip, oid)
            y += h + gap
        self.action("back", pygame.K_ESCAPE, "Back", pygame.Rect(x, y + gap, w, h))
        self.message_rect = pygame.Rect(rect.left + 2 * t.em, y + h + 2 * gap + t.em // 2,
                                        rect.width - 4 * t.em, rect.bottom - y - h - 3 * gap)

    def on_intent(self, intent: str) -> None:
        s = self.app.settings
        if intent.startswith("size"):
            s.window = WINDOW_SIZES[int(intent[4:])]
            s.fullscreen = False
            self.message = self.app.save_settings()
            self.app.resize(s.window, False)
        elif intent == "fullscreen":
            s.fullscreen = not s.fullscreen
            self.message = self.app.save_settings()
            self.app.resize(s.window, s.fullscreen)
        elif intent == "large_text":
            self.app.set_large_text(not self.app.large_text)
        elif intent == "palette":
            s.palette = "standard" if s.palette == "colour-blind safe" else "colour-blind safe"
            self.message = self.app.save_settings()
            self.app.charts.clear()
            self.enter()
        elif intent == "back":
            self.app.scenes.pop()

    def layer_key(self):
        return (self.message,)

    def paint(self, surface: pygame.Surface) -> None:
        rect = surface.get_rect()
        t = self.typo
        draw.text(surface, "Settings", (rect.centerx, rect.top + t.em), t.title, bold=True, anchor="midtop")
        if self.message:
            draw.paragraph(surface, self.message, self.message_rect, t.body, draw.BAD)
