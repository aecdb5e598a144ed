"""The decisions screen: acquisition per channel, service per tier, the budget, the lab's
projection, undo, End turn.

Every change goes through ``app.editor`` (``sim.planning.PlanEditor``), so
each one can be undone (Ctrl+Z or the Undo button) and redone (Ctrl+Y).
No single key loses work: Backspace only ever edits text, "last turn's
plan" is a button (and undoable), a removed tier comes back with Ctrl+Z.
A typed amount that is not a number ("1.2.3") is shown as an error in its
field and never used; End turn is refused until it is fixed.

The tier list scrolls (mouse wheel, scroll bar, or moving the selection),
so however many tiers there are, none is hidden while it spends money;
each tier can be moved up or down, and a tier no customer reaches (or a
duplicate) carries a warning.
"""

from __future__ import annotations

import math

import pygame
import pygame_gui

from ...decisions import DecisionError
from ...planning import AmountError, parse_amount
from ...session import acquisition_cap
from .. import draw
from ..fields import Catalogue, rule_text
from ..ingame import GameScene
from ..layout import cut_bottom, cut_left, cut_right, cut_top, row
from ..scene import register


@register
class DecisionsScene(GameScene):
    """Acquisition per channel and service per tier; live budget and projection; End turn."""

    name = "decisions"
    tab = "decisions"

    def __init__(self, app):
        super().__init__(app)
        self.selected = ("channel", self.public.channel_names[0]) if self.public.channels else None
        self.message = ""
        self.plan_note = ""
        self.preview = None
        self.tier_offset = 0
        self.channel_offset = 0
        #: (kind, key) -> the text typed that is not an amount (shown, never used).
        self.invalid: dict[tuple, str] = {}
        self.row_widgets: list = []
        #: ((kind, key), the value before the player began typing in that field), or None.
        self._typing_run = None

    @property
    def plan(self):
        return self.app.editor.plan

    # ------------------------------------------------------------ layout
    def _range(self, kind) -> float:
        if kind == "channel":
            return acquisition_cap(self.public)
        return float(max(20, round(4 * self.public.service.half_saturation)))

    def _value(self, kind, key) -> float:
        return self.plan.acquisition.get(key, 0.0) if kind == "channel" else self.plan.tiers[key].service

    def _row_height(self) -> int:
        t = self.typo
        return t.line("body") + t.line("small") + t.control + self.gap

    def build_body(self, body: pygame.Rect) -> None:
        t, gap = self.typo, self.gap
        h = t.control
        self.catalogue = Catalogue(self.public, self.session.observation.columns,
                                   lab=self.session.lab.value is not None)
        side_w = min(max(t.em * 15, int(body.width * 0.24)), int(body.width * 0.32))
        self.side, main = cut_right(body, side_w, gap)
        self.message_rect, main = cut_bottom(main, t.line("small") * 2, gap)
        # What the pre-filled values are (the score's zero on turn 1), shown while nothing else is said.
        self.plan_note = self.session.default_plan_note()
        self.acq_rect, self.tier_rect = cut_left(main, int(main.width * 0.4), gap)
        # Sidebar: budget, the lab's projection, undo/redo, last turn's plan, End turn.
        buttons_h = 3 * h + 2 * gap + (h + gap)
        self.side_buttons, side_top = cut_bottom(self.side, buttons_h, gap)
        self.budget_rect, rest = cut_top(side_top, self._kv_height(4), gap)
        self.estimate_rect = rest
        undo_row, rest = cut_top(self.side_buttons, h, gap)
        undo_w = [self.button_width("Undo", pygame.K_z, ctrl=True), self.button_width("Redo", pygame.K_y, ctrl=True)]
        show_keys = sum(undo_w) + gap <= undo_row.width
        undo, redo = (row(undo_row, undo_w, gap) if show_keys else
                      row(undo_row, [(undo_row.width - gap) // 2] * 2, gap))
        self.undo_act = self.action("undo", pygame.K_z, "Undo", undo, "Undo the last change to the plan.",
                                    ctrl=True, show_key=show_keys)
        self.redo_act = self.action("redo", pygame.K_y, "Redo", redo, "Do again the change you undid.",
                                    ctrl=True, show_key=show_keys)
        reset_r, rest = cut_top(rest, h, gap)
        self.action("reset", None, "Last turn's plan", reset_r,
                    "Put back last turn's decision (turn 1: the previous management's policy). "
                    "Undo brings your changes back.")
        end_r, _ = cut_top(rest, h + gap, 0)
        self.end_rect = end_r
        self.action("end", pygame.K_RETURN, "End turn", end_r, "Play this plan for the turn.", "primary")
        # Tier panel: title, "New tier" button, the list.
        pad = draw.panel_pad(t.heading)
        tier_inner = self.tier_rect.inflate(-2 * pad, -2 * pad)
        title_row, list_area = cut_top(tier_inner, max(h, draw.title_height(t.heading)), gap)
        new_w = self.button_width("New tier", pygame.K_a)
        self.new_tier_rect = pygame.Rect(title_row.right - new_w, title_row.top, new_w, h)
        self.action("new_tier", pygame.K_a, "New tier", self.new_tier_rect,
                    "Define a tier by a rule on anything you observe (channel, profile tags, purchases, "
                    "the lab's scores); it goes after your tiers, before 'everyone'.")
        self.tier_title_rect = pygame.Rect(title_row.left, title_row.top, title_row.width - new_w - gap, h)
        # The selected tier's tools, under the list: move up, move down, remove.
        toolbar, list_area = cut_bottom(list_area, h, gap)
        tools = [("move_up", "Move up", "Move the selected tier up: tiers above take their customers "
                  "first [Ctrl+Up]."),
                 ("move_down", "Move down", "Move the selected tier down [Ctrl+Down]."),
                 ("remove", "Remove", "Remove the selected tier [Delete]; Ctrl+Z brings it back.")]
        keys = {"move_up": (pygame.K_UP, True), "move_down": (pygame.K_DOWN, True), "remove": (pygame.K_DELETE, False)}
        widths = [self.button_width(label, keys[intent][0], ctrl=keys[intent][1]) for intent, label, _ in tools]
        show = sum(widths) + 2 * gap <= toolbar.width
        if not show:
            widths = [self.button_width(label) for _, label, _ in tools]
        self.tools = {}
        for (intent, label, tip), r in zip(tools, row(toolbar, widths, gap)):
            key, ctrl = keys[intent]
            self.tools[intent] = self.action(intent, key, label, r, tip, ctrl=ctrl, show_key=show)
        self.toolbar_rect = toolbar
        self.unassigned_rect, self.tier_list = cut_bottom(list_area, t.line("small"), gap // 2)
        acq_inner = self.acq_rect.inflate(-2 * pad, -2 * pad)
        _, self.channel_list = cut_top(acq_inner, draw.title_height(t.heading), 0)
        for intent, key in (("up", pygame.K_UP), ("down", pygame.K_DOWN), ("less", pygame.K_LEFT),
                            ("more", pygame.K_RIGHT), ("turn_away_tier", pygame.K_t)):
            self.action(intent, key)
        self.scrollbar = None
        self.tooltips.add(self.budget_rect, "One marketing budget pays for acquisition and service: "
                          "budget left = the budget less both. Service = customers in each tier x "
                          "spend per customer.")
        self.tooltips.add(self.estimate_rect, "Estimates from your lab, before any effect of service. "
                          "Profit: your customers' expected margin this turn (the lab's next-turn "
                          "value) plus new customers' first purchases, less marketing and fixed cost. "
                          "Value bought: expected new customers per channel (published response curve) "
                          "x what the lab says a recent customer of that channel is worth (profit so "
                          "far + predicted CLV).")
        self._refresh()
        handoff, self.app.handoff = self.app.handoff, {}
        if handoff.get("select") in self._rows():
            self.selected = handoff["select"]
            self.message = handoff.get("message", self.message)
            self.scrollbar = None
            self.tier_list_inner = self.tier_list
            self._keep_selected_visible()
        self._build_rows()

    def _kv_height(self, lines: int) -> int:
        t = self.typo
        return 2 * draw.panel_pad(t.heading) + draw.title_height(t.heading) + lines * t.line("body", 1.4)

    def _visible(self, area: pygame.Rect, count: int, offset: int) -> tuple[int, int]:
        per = max(1, area.height // self._row_height())
        offset = max(0, min(offset, count - per))
        return offset, min(count, offset + per)

    def _build_rows(self) -> None:
        """The rows' widgets for what is scrolled into view (rebuilt on scroll, not the rest)."""
        for w in self.row_widgets:
            w.kill()
            if w in self.widgets:
                self.widgets.remove(w)
        self.row_widgets = []
        self.sliders, self.entries, self.toggles = {}, {}, {}
        self.row_rects = []
        t, gap = self.typo, self.gap
        rh = self._row_height()
        n_ch = len(self.public.channels)
        self.channel_offset, ch_end = self._visible(self.channel_list, n_ch, self.channel_offset)
        for i in range(self.channel_offset, ch_end):
            y = self.channel_list.top + (i - self.channel_offset) * rh
            self._row("channel", self.public.channels[i].name,
                      pygame.Rect(self.channel_list.left, y, self.channel_list.width, rh - gap))
        n = len(self.plan.tiers)
        per = max(1, self.tier_list.height // rh)
        scroll = n > per
        list_rect = self.tier_list
        if scroll:
            bar_w = max(18, int(t.em * 1.3))        # room for its arrows at the widget text size
            bar, list_rect = cut_right(self.tier_list, bar_w, gap // 2)
            if self.scrollbar is None or not self.scrollbar.alive():
                self.scrollbar = self.add(pygame_gui.elements.UIVerticalScrollBar(bar, per / n, self.ui))
            self.scrollbar.set_visible_percentage(per / n)
        elif self.scrollbar is not None:
            self.scrollbar.kill()
            if self.scrollbar in self.widgets:
                self.widgets.remove(self.scrollbar)
            self.scrollbar = None
        self.tier_list_inner = list_rect
        self.tier_offset, end = self._visible(list_rect, n, self.tier_offset)
        if self.scrollbar is not None:
            self.scrollbar.set_scroll_from_start_percentage(self.tier_offset / n)
            self._bar_offset = self.tier_offset
        for i in range(self.tier_offset, end):
            y = list_rect.top + (i - self.tier_offset) * rh
            self._row("tier", i, pygame.Rect(list_rect.left, y, list_rect.width, rh - gap))
        self._enable_tools()

    def _enable_tools(self) -> None:
        """The tier tools work on the selected tier: off when no tier is selected (or at an end)."""
        tier = self.selected[1] if self.selected and self.selected[0] == "tier" else None
        n = len(self.plan.tiers)
        for intent, able in (("move_up", tier is not None and tier > 0),
                             ("move_down", tier is not None and tier < n - 1),
                             ("remove", tier is not None)):
            button = self.tools[intent].button
            if button.is_enabled != able:
                button.enable() if able else button.disable()

    def _add_row_widget(self, widget):
        self.row_widgets.append(widget)
        return self.add(widget)

    def _row(self, kind, key, rect: pygame.Rect) -> None:
        t, gap = self.typo, self.gap
        self.row_rects.append((kind, key, rect))
        controls = pygame.Rect(rect.left, rect.bottom - t.control, rect.width, t.control)
        entry_w = max(t.em * 5, draw.text_width("1,234,567", t.widget) + t.em)
        widths = [0, entry_w]
        if kind == "tier":
            tier = self.plan.tiers[key]
            toggle_w = max(draw.text_width(s, t.widget) for s in ("served", "turned away")) + t.em * 2
            widths.append(toggle_w)
        rects = row(controls, widths, gap, stretch=0)
        value = self._value(kind, key)
        if rects[0].width >= t.em * 4:
            slider = self._add_row_widget(pygame_gui.elements.UIHorizontalSlider(
                rects[0], min(value, self._range(kind)), (0.0, self._range(kind)), self.ui,
                click_increment=self._range(kind) / 40))
            self.sliders[(kind, key)] = slider
        bad = self.invalid.get((kind, key))
        entry = self._add_row_widget(pygame_gui.elements.UITextEntryLine(
            rects[1], self.ui, initial_text=bad if bad is not None else self._format(kind, value),
            object_id=pygame_gui.core.ObjectID(object_id="#invalid") if bad is not None else None))
        # Any character may be typed: what is not an amount is shown as an error, never used.
        self.entries[(kind, key)] = entry
        what = "dollars this turn" if kind == "channel" else "dollars per customer this turn"
        self.tooltips.add(entry.rect, f"Type an amount in {what}; Enter confirms, Esc leaves the field.")
        if kind == "tier":
            self.toggles[key] = self._add_row_widget(pygame_gui.elements.UIButton(
                rects[2], "turned away" if tier.disengaged else "served", self.ui,
                tool_tip_text="Turn this tier away (perks and privileges withdrawn) or serve it [T].",
                object_id=pygame_gui.core.ObjectID(object_id="#danger") if tier.disengaged else None))
            if tier.disengaged:
                if (kind, key) in self.sliders:
                    self.sliders[(kind, key)].disable()
                entry.disable()

    @staticmethod
    def _format(kind, value: float) -> str:
        return f"{value:.0f}" if kind == "channel" else f"{value:.2f}"

    def guide_targets(self) -> dict[str, pygame.Rect]:
        return {"channels": self.acq_rect, "tiers": self.tier_rect, "new_tier": self.new_tier_rect,
                "summary": self.budget_rect.union(self.estimate_rect), "end": self.side_buttons}

    # ------------------------------------------------------------ changes
    def _refresh(self) -> None:
        self.preview = self.session.preview(self.plan)

    def _show_value(self, kind, key, source=None) -> None:
        """Put the plan's value into the row's slider and field (not into the one being used)."""
        value = self._value(kind, key)
        slider, entry = self.sliders.get((kind, key)), self.entries.get((kind, key))
        if slider is not None and source is not slider:
            slider.set_current_value(min(value, self._range(kind)))
        if entry is not None and source is not entry:
            entry.set_text(self._format(kind, value))
            self._mark(kind, key, None)

    def _mark(self, kind, key, bad: str | None) -> None:
        """Show (or clear) an amount that is not a number in its field."""
        was = (kind, key) in self.invalid
        if bad is None:
            self.invalid.pop((kind, key), None)
        else:
            self.invalid[(kind, key)] = bad
        entry = self.entries.get((kind, key))
        if entry is not None and was != (bad is not None):
            entry.change_object_id(pygame_gui.core.ObjectID(object_id="#invalid") if bad is not None else None)

    def _set(self, kind, key, value: float, source=None) -> None:
        if kind == "channel":
            self.editor.set_channel(key, value)
        else:
            self.editor.set_service(key, value)
        self._show_value(kind, key, source)
        self._refresh()

    def _row_label(self, kind, key) -> str:
        if kind == "channel":
            return next(c.label for c in self.public.channels if c.name == key)
        return f"tier {key + 1} '{self.plan.tiers[key].name}'"

    def on_event(self, event) -> bool:
        if event.type == pygame_gui.UI_HORIZONTAL_SLIDER_MOVED:
            for (kind, key), slider in self.sliders.items():
                if slider is event.ui_element:
                    self.selected = (kind, key)
                    self._set(kind, key, round(float(event.value), 2 if kind == "tier" else 0), slider)
                    return True
        if event.type in (pygame_gui.UI_TEXT_ENTRY_CHANGED, pygame_gui.UI_TEXT_ENTRY_FINISHED):
            for (kind, key), entry in self.entries.items():
                if entry is event.ui_element:
                    self.selected = (kind, key)
                    # The value before this run of typing: what the plan keeps while the text is wrong.
                    if self._typing_run is None or self._typing_run[0] != (kind, key):
                        self._typing_run = ((kind, key), self._value(kind, key))
                    try:
                        value = parse_amount(event.text)
                    except AmountError as exc:
                        self._mark(kind, key, event.text)
                        before = self._typing_run[1]
                        if self._value(kind, key) != before:
                            self._set(kind, key, before, entry)     # a half-typed "1.2" is not kept either
                        shown = f"${before:,.0f}" if kind == "channel" else f"${before:,.2f}"
                        self.message = f"{self._row_label(kind, key)}: {exc}; the plan keeps {shown} " \
                                       "until you fix it."
                    else:
                        self._mark(kind, key, None)
                        if self.message.startswith(self._row_label(kind, key) + ":"):
                            self.message = ""
                        self._set(kind, key, value, entry)
                    if event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED:
                        self.editor.end_gesture()
                        if (kind, key) not in self.invalid:
                            self._typing_run = None
                    return True
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            for key, button in self.toggles.items():
                if button is event.ui_element:
                    self.selected = ("tier", key)
                    self.on_game_intent("turn_away_tier")
                    return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            for kind, key, rect in self.row_rects:
                if rect.collidepoint(event.pos) and self.selected != (kind, key):
                    self.selected = (kind, key)
                    self._enable_tools()
                    return False        # the widget under the click still gets it
        if event.type == pygame.MOUSEWHEEL and self.tier_rect.collidepoint(self.app.mouse):
            self._scroll_tiers(self.tier_offset - event.y)
            return True
        if event.type == pygame.MOUSEWHEEL and self.acq_rect.collidepoint(self.app.mouse):
            self.channel_offset = max(0, self.channel_offset - event.y)
            self._build_rows()
            self._layer = None
            return True
        if event.type == pygame.KEYDOWN and event.key == pygame.K_z and not self.app.typing() \
                and event.mod & (pygame.KMOD_CTRL | pygame.KMOD_META) and event.mod & pygame.KMOD_SHIFT:
            self.on_game_intent("redo")
            return True
        return False

    def _rows(self) -> list[tuple[str, object]]:
        return [("channel", c) for c in self.public.channel_names] + \
            [("tier", i) for i in range(len(self.plan.tiers))]

    def _scroll_tiers(self, offset: int) -> None:
        before = self.tier_offset
        self.tier_offset = max(0, offset)
        self._build_rows()
        if self.tier_offset != before:
            self._layer = None

    def _keep_selected_visible(self) -> None:
        """Scroll the selected row's list so the row is in view."""
        if not self.selected:
            return
        kind, key = self.selected
        if kind == "tier":
            i, area, offset = key, self.tier_list_inner, self.tier_offset
        else:
            i, area, offset = self.public.channel_names.index(key), self.channel_list, self.channel_offset
        per = max(1, area.height // self._row_height())
        offset = i if i < offset else (i - per + 1 if i >= offset + per else offset)
        if kind == "tier":
            self.tier_offset = offset
        else:
            self.channel_offset = offset

    def on_game_intent(self, intent: str) -> None:
        rows = self._rows()
        if self.selected not in rows:
            self.selected = rows[0] if rows else None
        kind, key = self.selected if self.selected else (None, None)
        editor = self.editor
        if intent in ("up", "down"):
            i = rows.index(self.selected) if self.selected in rows else 0
            self.selected = rows[(i + (1 if intent == "down" else -1)) % len(rows)]
            self._keep_selected_visible()
            self._build_rows()
        elif intent in ("less", "more") and kind is not None:
            if kind == "tier" and self.plan.tiers[key].disengaged:
                return
            step = self._range(kind) / 40 * (1 if intent == "more" else -1)
            self._set(kind, key, round(self._value(kind, key) + step, 2))
        elif intent == "turn_away_tier" and kind == "tier":
            away = editor.toggle_disengaged(key)
            self.message = f"Tier {key + 1} {'turned away' if away else 'served again'} (Ctrl+Z undoes it)."
            self._changed()
        elif intent == "remove" and kind == "tier":
            gone = editor.remove_tier(key)
            self.message = f"Removed tier '{gone.name}' (Ctrl+Z brings it back)."
            self.invalid = {k: v for k, v in self.invalid.items() if k[0] != "tier"}
            self.selected = ("tier", min(key, len(self.plan.tiers) - 1)) if self.plan.tiers else rows[0]
            self._changed()
        elif intent in ("move_up", "move_down") and kind == "tier":
            to = editor.move_tier(key, -1 if intent == "move_up" else 1)
            self.selected = ("tier", to)
            self.invalid = {k: v for k, v in self.invalid.items() if k[0] != "tier"}
            self._keep_selected_visible()
            self._changed()
        elif intent == "new_tier":
            self.app.scenes.push("rule")
        elif intent in ("undo", "redo"):
            what = editor.undo() if intent == "undo" else editor.redo()
            self.message = (f"{'Undone' if intent == 'undo' else 'Redone'}: {what}." if what else
                            f"Nothing to {intent}.")
            self.invalid.clear()
            if self.selected not in self._rows():
                self.selected = self._rows()[0] if self._rows() else None
            self._changed()
        elif intent == "reset":
            editor.reset(self.session.default_plan())
            self.invalid.clear()
            self.message = "Back to last turn's plan (Ctrl+Z brings your changes back)."
            self.selected = self._rows()[0] if self._rows() else None
            self._changed()
        elif intent == "end":
            self._end_turn()

    def _changed(self) -> None:
        """The plan's shape changed (tiers added, moved, removed, undone): rebuild the screen."""
        self._refresh()
        self.enter()

    def _end_turn(self) -> None:
        if self.invalid:
            (kind, key), text = next(iter(self.invalid.items()))
            self.message = (f"Not played: {self._row_label(kind, key)} has '{text}', which is not an "
                            "amount. Fix it (or press Esc in the field and retype) first.")
            return
        turn = self.session.turn
        try:
            result = self.session.end_turn(self.plan)
        except DecisionError as exc:
            # Refused: the plan was not played; say why and let the player fix the plan.
            self.message = str(exc)
            if self.session.turn != turn:
                # A class server's instructor closed the turn meanwhile (the team's last plan was
                # played): the screen shows the new turn's customers, with this plan still editable.
                self._changed()
            return
        except OSError as exc:
            if self.session.turn == turn:
                raise
            # Played, but the autosave could not be written (a full disk, a read-only folder).
            result = self.session.results[-1]
            self.app.notice = f"The turn was played but the game could not be saved ({exc.strerror or exc})."
        self.app.last_result = result
        if self.app.tour:
            self.app.end_tour()     # the guided first turn is over
        self.app.new_turn()
        self.app.scenes.replace("results")

    def update(self, dt: float) -> None:
        super().update(dt)
        if self.scrollbar is not None and self.scrollbar.check_has_moved_recently():
            n = len(self.plan.tiers)
            offset = int(round(self.scrollbar.start_percentage * n))
            if offset != self.tier_offset:
                self.tier_offset = offset
                self._build_rows()
        self._enable_tools()
        for act, able in ((self.undo_act, self.editor.can_undo), (self.redo_act, self.editor.can_redo)):
            if act.button is not None and act.button.is_enabled != able:
                act.button.enable() if able else act.button.disable()

    def has_unsaved_edits(self) -> bool:
        return super().has_unsaved_edits() or bool(self.invalid)

    # ------------------------------------------------------------ painting
    def body_key(self) -> tuple:
        return (id(self.preview), self.message, self.selected, len(self.plan.tiers), self.tier_offset,
                self.channel_offset, tuple(self.invalid))

    def draw_body(self, surface: pygame.Surface) -> None:
        t = self.typo
        pv = self.preview
        inner = draw.panel(surface, self.acq_rect, None, t.heading)
        for title in ("Acquisition: dollars per channel this turn", "Acquisition: dollars per channel",
                      "Acquisition"):
            if draw.text_width(title, t.heading, True) <= inner.width:
                draw.text(surface, title, inner.topleft, t.heading, draw.MUTED, bold=True)
                break
        draw.panel(surface, self.tier_rect, None, t.heading)
        title = "Service tiers (first match wins)"
        for s in (title + ": dollars per customer", title, "Service tiers"):
            if draw.text_width(s, t.heading, True) <= self.tier_title_rect.width:
                draw.text(surface, s, (self.tier_title_rect.left, self.tier_title_rect.centery), t.heading,
                          draw.MUTED, bold=True, anchor="midleft")
                break
        for kind, key, rect in self.row_rects:
            self._paint_row(surface, kind, key, rect)
        n, shown = len(self.plan.tiers), len([r for r in self.row_rects if r[0] == "tier"])
        notes = []
        if shown < n:
            notes.append(f"tiers {self.tier_offset + 1}-{self.tier_offset + shown} of {n} (scroll for more)")
        if pv.unassigned:
            notes.append(f"{pv.unassigned:,} customers in no tier (no service)")
        note = "; ".join(notes)
        if note and draw.text_width(note, t.small) > self.unassigned_rect.width:
            note = notes[-1] if draw.text_width(notes[-1], t.small) <= self.unassigned_rect.width else ""
        if note:
            draw.text(surface, note, self.unassigned_rect.topleft, t.small, draw.MUTED)
        self._paint_budget(surface)
        self._paint_estimates(surface)
        message = self.message or (pv.problem or "")
        if not message and draw.fits(self.plan_note, t.small, self.message_rect):
            draw.paragraph(surface, self.plan_note, self.message_rect, t.small, draw.MUTED)
        if message:
            bad = (pv.problem and message == pv.problem) or any(
                w in message.lower() for w in ("over", "refus", "not played", "not a number", "fix"))
            size = t.small
            if not draw.fits(message, size, self.message_rect):
                size = max(12, int(size * 0.9))
            draw.paragraph(surface, message, self.message_rect, size, draw.BAD if bad else draw.ACCENT)

    def _paint_row(self, surface, kind, key, rect: pygame.Rect) -> None:
        t, pv = self.typo, self.preview
        if self.selected == (kind, key):
            pygame.draw.rect(surface, draw.ACCENT, rect.inflate(self.gap, self.gap // 2), width=2,
                             border_radius=6)
        line1 = pygame.Rect(rect.left, rect.top, rect.width, t.line("body"))
        line2 = pygame.Rect(rect.left, line1.bottom, rect.width, t.line("small"))
        if kind == "channel":
            label = next(c.label for c in self.public.channels if c.name == key)
            expected = pv.expected_acquired.get(key, 0)
            worth = pv.projection.value_per_customer.get(key, math.nan) if pv.projection else math.nan
            details = [f"about {expected:,.0f} new customers"
                       + (f", about {draw.money(worth)} each (lab estimate)" if math.isfinite(worth) else ""),
                       f"about {expected:,.0f} new customers"
                       + (f", {draw.money(worth)} each (est.)" if math.isfinite(worth) else ""),
                       f"about {expected:,.0f} new customers"]
            self._two_lines(surface, line1, line2, label, "", details, draw.MUTED)
            return
        tier = self.plan.tiers[key]
        count = pv.tier_counts[key] if key < len(pv.tier_counts) else 0
        cost = 0.0 if tier.disengaged else count * tier.service
        warning = pv.warnings[key] if key < len(pv.warnings) else ""
        rule = rule_text(tier.rule, self.catalogue)
        name = f"{key + 1}. {tier.name}"
        right = f"{count:,} customers · {draw.money(cost)}"
        if tier.holdout > 0:
            # A test: the budget counts the whole tier; the held-out share will cost nothing.
            right = f"{count:,} customers, {tier.holdout:.0%} held out · {draw.money(cost)}"
        if warning:
            self._two_lines(surface, line1, line2, name, right, [warning, warning.split(":")[0]], draw.BAD)
        else:
            details = [f"rule: {rule}" if rule != tier.name else "", ""]
            match = pv.tier_matches[key] if key < len(pv.tier_matches) else count
            if match > count:
                taken = f"{match - count:,} of the {match:,} it matches are in tiers above"
                details = [f"{details[0]}; {taken}" if details[0] else taken, taken, ""]
            self._two_lines(surface, line1, line2, name, right, details, draw.MUTED)

    def _two_lines(self, surface, line1, line2, title, right, details, colour) -> None:
        """A row's name (with ``right`` beside it if both fit, else ``right`` below it) and the
        first of ``details`` that fits the second line."""
        t = self.typo
        right_w = draw.text_width(right, t.small) if right else 0
        beside = draw.text_width(title, t.body, True) + t.em + right_w <= line1.width
        if right and beside:
            draw.text(surface, right, (line1.right, line1.centery), t.small, draw.MUTED, anchor="midright")
        room = line1.width - (right_w + t.em if right and beside else 0)
        draw.text(surface, title, (line1.left, line1.centery), t.body, draw.TEXT, bold=True, anchor="midleft",
                  max_width=room)
        if right and not beside:
            details = [f"{right}; {d}" for d in details if d] + [right]
        for detail in details:
            if detail and draw.text_width(detail, t.small) <= line2.width:
                draw.text(surface, detail, (line2.left, line2.centery), t.small,
                          draw.MUTED if detail == right else colour, anchor="midleft")
                break

    def _paint_budget(self, surface) -> None:
        t, pv = self.typo, self.preview
        inner = draw.panel(surface, self.budget_rect, "Budget this turn", t.heading)
        items = [("Marketing budget", draw.money(pv.budget), draw.TEXT),
                 ("Acquisition", draw.money(pv.acquisition_cost), draw.TEXT),
                 ("Service", draw.money(pv.service_cost), draw.TEXT),
                 ("Budget left", draw.money(pv.budget_left), draw.BAD if pv.budget_left < 0 else draw.GOOD)]
        self._kv(surface, inner, items)

    def _kv(self, surface, inner, items) -> None:
        t = self.typo
        y = inner.top
        for label, value, colour in items:
            draw.text(surface, value, (inner.right, y), t.body, colour, bold=True, anchor="topright")
            room = inner.width - draw.text_width(value, t.body, True) - t.em // 2
            draw.text(surface, label, (inner.left, y), t.body, draw.MUTED, max_width=room)
            y += t.line("body", 1.4)

    def _paint_estimates(self, surface) -> None:
        t, pv = self.typo, self.preview
        inner = draw.panel(surface, self.estimate_rect, "Lab estimates", t.heading)
        turn = f"{self.public.turn_length} {self.session.turn}"
        pj = pv.projection
        items = [(f"Projected profit, {turn}", draw.money(pj.profit) if pj else "n/a",
                  (draw.BAD if pj.profit < 0 else draw.TEXT) if pj else draw.MUTED),
                 ("Customer value bought", draw.money(pj.value_bought) if pj else "n/a", draw.TEXT)]
        y = inner.top
        for label, value, colour in items:
            lines = draw.wrap(label, t.small, inner.width)
            needed = len(lines) * t.line("small") + t.line("value")
            if y + needed > inner.bottom:
                break
            for line in lines:
                draw.text(surface, line, (inner.left, y), t.small, draw.MUTED)
                y += t.line("small")
            draw.text(surface, value, (inner.left, y), t.value, colour, bold=True, max_width=inner.width)
            y += t.line("value") + t.em // 4
        note = ("Estimates from your own data, before any effect of service." if pj else
                "Fit the models in the lab [L] to see them.")
        rect = pygame.Rect(inner.left, y, inner.width, inner.bottom - y)
        if draw.fits(note, t.small, rect):
            draw.paragraph(surface, note, rect, t.small, draw.MUTED)
