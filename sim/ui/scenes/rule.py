"""The tier builder: a rule on any observable field, a name and a spend, shown before it is added.

Fields are listed in the player's words ("Predicted CLV", "First
impression", "Channel"), each with what it is and its unit.  Categorical
fields (the channel, each profile tag) offer their values: is, is not, is
one of, is none of; numeric fields offer top/bottom % and comparisons.
While the rule is built, the screen says how many customers it matches and
how many would reach the new tier where it goes (after the player's tiers,
before "everyone"; first match wins).  Esc closes it and changes nothing.
"""

from __future__ import annotations

import pygame
import pygame_gui

from ...errors import SimError
from ...planning import AmountError, insertion_index, parse_amount
from ...session import TierPlan
from .. import draw
from ..fields import CATEGORY_OPS, NUMERIC_OPS, Catalogue, rule_text
from ..layout import cut_bottom, cut_left, cut_top, row
from ..scene import Scene, register


@register
class RuleScene(Scene):
    """Build a new tier's rule; Enter (or the button) adds it, Esc cancels."""

    name = "rule"
    modal = True

    def __init__(self, app, field: str | None = None):
        super().__init__(app)
        session = app.session
        self.catalogue = Catalogue(session.public, session.observation.columns,
                                   lab=session.lab.value is not None)
        names = [f.name for f in self.catalogue.fields]
        self.field = field if field in names else names[0]
        self.op = self._ops()[0][1]
        self.value_text = "10"
        self.choice: list[str] = []
        self.name_text = ""
        self.spend_text = f"{2 * session.public.service.half_saturation:.2f}"
        self.away = False
        self.holdout_text = "0"
        self.message = ""
        self.outcome = ""

    # ------------------------------------------------------------ the rule
    @property
    def spec(self):
        return self.catalogue.get(self.field)

    def _ops(self):
        return CATEGORY_OPS if self.spec.categorical else NUMERIC_OPS

    def rule(self):
        """The rule as built so far; ``AmountError`` / ``SimError`` with a sentence if incomplete."""
        f = self.spec
        if f.categorical:
            if self.op in ("in", "not in"):
                if not self.choice:
                    raise SimError("choose one or more values")
                return {"field": f.name, "op": self.op, "value": list(self.choice)}
            value = self.choice[0] if self.choice else f.values[0]
            return {"field": f.name, "op": self.op, "value": value}
        value = parse_amount(self.value_text, allow_negative=self.op not in ("top", "bottom"))
        if self.op in ("top", "bottom"):
            if not 0 < value <= 100:
                raise SimError("a top or bottom share is a percentage above 0 and at most 100")
            return {self.op: round(value / 100, 6), "by": f.name}
        return {"field": f.name, "op": self.op, "value": value}

    def tier(self) -> TierPlan:
        rule = self.rule()
        spend = 0.0 if self.away else parse_amount(self.spend_text)
        name = self.name_text.strip() or rule_text(rule, self.catalogue)
        holdout = parse_amount(self.holdout_text)
        if not 0 <= holdout <= 90:
            raise SimError("hold out is a percentage of the tier from 0 to 90")
        return TierPlan(name[:80], rule, spend, self.away, round(holdout / 100, 6))

    def _evaluate(self) -> None:
        """Say what the rule matches and how many would reach the new tier."""
        try:
            tier = self.tier()
        except (AmountError, SimError) as exc:
            self.outcome, self.message = "", str(exc)[0].upper() + str(exc)[1:] + "."
            return
        plan = self.app.editor.plan.copy()
        at = insertion_index(plan)
        plan.tiers.insert(at, tier)
        preview = self.app.session.preview(plan)
        if preview.problem and not preview.tier_matches:
            self.outcome, self.message = "", preview.problem
            return
        total = max(1, sum(preview.tier_counts) + preview.unassigned)
        match = preview.tier_matches[at]
        reach = preview.tier_counts[at]
        after = f"after tier {at} '{plan.tiers[at - 1].name}'" if at else "first"
        before = f", before '{plan.tiers[at + 1].name}'" if at + 1 < len(plan.tiers) else ""
        self.outcome = (f"'{tier.name}' matches {match:,} of your {total:,} customers ({match / total:.0%}). "
                        f"As tier {at + 1} ({after}{before}; first match wins) it would get {reach:,} "
                        f"of them" + (f", costing {draw.money(reach * tier.service)} of service."
                                      if not tier.disengaged else ", turned away."))
        if tier.holdout > 0:
            self.outcome += (f" A test: about {tier.holdout:.0%} of them, drawn at random, are held out as "
                             "a control (served nothing, kept, free; the budget counts the whole tier); "
                             "the results compare the two groups.")
        self.message = preview.warnings[at].capitalize() + "." if preview.warnings[at] else ""

    # ------------------------------------------------------------ layout
    def build(self, rect: pygame.Rect) -> None:
        t = self.typo
        m, gap, h = t.em, max(6, t.em // 2), t.control
        self.box = rect.inflate(-2 * m, -2 * m)
        inner = self.box.inflate(-2 * m, -2 * m)
        _, inner = cut_top(inner, t.line("title"), gap)
        buttons, inner = cut_bottom(inner, h, gap)
        add_w, cancel_w = self.button_width("Add tier", pygame.K_RETURN), self.button_width("Cancel", pygame.K_ESCAPE)
        self.action("add", pygame.K_RETURN, "Add tier", pygame.Rect(buttons.right - add_w, buttons.top, add_w, h),
                    "Add this tier to the plan (Ctrl+Z on the Decisions screen undoes it).", "primary")
        self.action("cancel", pygame.K_ESCAPE, "Cancel",
                    pygame.Rect(buttons.right - add_w - gap - cancel_w, buttons.top, cancel_w, h))
        list_w = max(draw.text_width(f.label, t.widget) for f in self.catalogue.fields) + 3 * t.em
        left, right = cut_left(inner, min(list_w, inner.width * 2 // 5), 2 * m)
        head, left = cut_top(left, t.line("heading"), gap // 2)
        self.field_head = head
        self.fields = self.add(pygame_gui.elements.UISelectionList(
            left, [(f.label, f.name) for f in self.catalogue.fields], self.ui,
            default_selection=(self.spec.label, self.spec.name)))
        # The right column: the field's meaning, then labelled rows.
        label_w = max(draw.text_width(s, t.body)
                      for s in ("Condition", "Value", "Name", "Spend ($)", "Hold out (%)")) + t.em
        self.help_rect, rest = cut_top(right, t.line("heading") + draw.paragraph_height(
            self.spec.help, t.small, right.width) + gap, gap)
        self.row_labels = []

        def labelled(label: str, height: int = h):
            nonlocal rest
            line, rest = cut_top(rest, height, gap)
            self.row_labels.append((label, pygame.Rect(line.left, line.top, label_w, h)))
            return pygame.Rect(line.left + label_w, line.top, line.width - label_w, height)

        ops = self._ops()
        op_w = max(draw.text_width(label, t.widget) for label, _ in ops) + 3 * t.em
        cond = labelled("Condition")
        self.op_menu = self.add(pygame_gui.elements.UIDropDownMenu(
            list(ops), next(o for o in ops if o[1] == self.op), pygame.Rect(cond.left, cond.top, min(op_w, cond.width), h),
            self.ui))
        f = self.spec
        self.value_entry = self.value_menu = self.value_list = None
        if not f.categorical:
            unit = "%" if self.op in ("top", "bottom") else ""
            value = labelled("Value")
            self.value_entry = self.add(pygame_gui.elements.UITextEntryLine(
                pygame.Rect(value.left, value.top, t.em * 7, h), self.ui, initial_text=self.value_text))
            self.unit = (unit, pygame.Rect(value.left + t.em * 7 + gap, value.top, t.em * 2, h))
        elif self.op in ("in", "not in"):
            item_h = int(t.widget * 1.9)
            height = min(len(f.values), 4) * item_h + 10      # + its border and shadow
            value = labelled("Values", height)
            self.value_list = self.add(pygame_gui.elements.UISelectionList(
                pygame.Rect(value.left, value.top, min(value.width, max(
                    draw.text_width(v, t.widget) for v in f.value_labels) + 4 * t.em), height),
                list(zip(f.value_labels, f.values)), self.ui, allow_multi_select=True,
                default_selection=[(f.value_label(v), v) for v in self.choice] or None))
            self.unit = None
        else:
            value = labelled("Value")
            chosen = self.choice[0] if self.choice else f.values[0]
            self.choice = [chosen]
            w = max(draw.text_width(v, t.widget) for v in f.value_labels) + 3 * t.em
            self.value_menu = self.add(pygame_gui.elements.UIDropDownMenu(
                list(zip(f.value_labels, f.values)), (f.value_label(chosen), chosen),
                pygame.Rect(value.left, value.top, min(w, value.width), h), self.ui))
            self.unit = None
        name = labelled("Name")
        self.name_entry = self.add(pygame_gui.elements.UITextEntryLine(
            name, self.ui, initial_text=self.name_text, placeholder_text="(the rule, in words)"))
        spend = labelled("Spend ($)")
        away_w = max(draw.text_width(s, t.widget) for s in ("Serve them", "Turn them away")) + 2 * t.em
        entry_r, away_r = row(pygame.Rect(spend.left, spend.top, min(spend.width, t.em * 7 + gap + away_w), h),
                              [t.em * 7, away_w], gap)
        self.spend_entry = self.add(pygame_gui.elements.UITextEntryLine(entry_r, self.ui,
                                                                        initial_text=self.spend_text))
        self.tooltips.add(entry_r, "Service dollars per customer per turn for this tier.")
        self.away_button = self.add(pygame_gui.elements.UIButton(
            away_r, "Turn them away" if self.away else "Serve them", self.ui,
            tool_tip_text="Turn this tier away (perks and privileges withdrawn) or serve it.",
            object_id=pygame_gui.core.ObjectID(object_id="#danger") if self.away else None))
        if self.away:
            self.spend_entry.disable()
        holdout = labelled("Hold out (%)")
        self.holdout_entry = self.add(pygame_gui.elements.UITextEntryLine(
            pygame.Rect(holdout.left, holdout.top, t.em * 7, h), self.ui, initial_text=self.holdout_text))
        self.tooltips.add(self.holdout_entry.rect,
                          "A test: this percentage of the tier (0-90), drawn at random, is held out as a "
                          "control (no service, not turned away, no cost). Results compare them with the "
                          "rest; keep the tier's name to keep the same control next turn.")
        self.outcome_rect = rest
        self._base_tips = list(self.tooltips.zones)
        self._evaluate()

    def update(self, dt: float) -> None:
        # A tooltip on each field in the list (the ones scrolled into view): what it is, its unit.
        zones = list(self._base_tips)
        for item in self.fields.item_list:
            button = item.get("button_element")
            field = self.catalogue.get(item.get("object_id"))
            if button is not None and field is not None and button.alive():
                shown = button.rect.clip(self.fields.rect)
                if shown.height:
                    zones.append((shown, f"{field.label}: {field.help}"))
        self.tooltips.zones = zones

    # ------------------------------------------------------------ events
    def on_event(self, event) -> bool:
        if event.type == pygame_gui.UI_SELECTION_LIST_NEW_SELECTION and event.ui_element is self.fields:
            chosen = self.fields.get_single_selection(include_object_id=True)
            name = chosen[1] if isinstance(chosen, tuple) else chosen
            if name in self.catalogue.by_name and name != self.field:
                self.field = name
                self.op = self._ops()[0][1]
                self.choice = []
                self.enter()
            return True
        if event.type in (pygame_gui.UI_SELECTION_LIST_NEW_SELECTION,
                          pygame_gui.UI_SELECTION_LIST_DROPPED_SELECTION) and event.ui_element is self.value_list:
            picked = self.value_list.get_multi_selection(include_object_id=True)
            self.choice = [p[1] if isinstance(p, tuple) else p for p in picked]
            self._evaluate()
            return True
        if event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED:
            if event.ui_element is self.op_menu:
                was_list = self.op in ("in", "not in")
                self.op = event.selected_option_id
                if self.spec.categorical and was_list != (self.op in ("in", "not in")):
                    self.choice = self.choice[:1]
                self.enter()
                return True
            if event.ui_element is self.value_menu:
                self.choice = [event.selected_option_id]
                self._evaluate()
                return True
        if event.type in (pygame_gui.UI_TEXT_ENTRY_CHANGED, pygame_gui.UI_TEXT_ENTRY_FINISHED):
            if event.ui_element is self.value_entry:
                self.value_text = event.text
            elif event.ui_element is self.name_entry:
                self.name_text = event.text
            elif event.ui_element is self.spend_entry:
                self.spend_text = event.text
            elif event.ui_element is self.holdout_entry:
                self.holdout_text = event.text
            else:
                return False
            self._evaluate()
            return True
        if event.type == pygame_gui.UI_BUTTON_PRESSED and event.ui_element is self.away_button:
            self.away = not self.away
            self.enter()
            return True
        return False

    def on_intent(self, intent: str) -> None:
        if intent == "cancel":
            self.app.scenes.pop()
        elif intent == "add":
            try:
                tier = self.tier()
                at = self.app.editor.add_tier(tier)
            except (AmountError, SimError) as exc:
                self.message = f"Not added: {exc}."
                return
            # The decisions screen shows the new tier, selected, with a word about it.
            self.app.handoff = {"select": ("tier", at),
                                "message": f"Added tier {at + 1} '{tier.name}' (Ctrl+Z undoes it)."}
            self.app.scenes.pop()

    # ------------------------------------------------------------ painting
    def layer_key(self):
        return (self.field, self.op, self.outcome, self.message)

    def paint(self, surface: pygame.Surface) -> None:
        t = self.typo
        pygame.draw.rect(surface, draw.BACKGROUND, self.box, border_radius=8)
        pygame.draw.rect(surface, draw.PANEL_EDGE, self.box, width=1, border_radius=8)
        inner = self.box.inflate(-2 * t.em, -2 * t.em)
        draw.text(surface, "New tier", inner.topleft, t.title, bold=True)
        draw.text(surface, "Field", self.field_head.topleft, t.heading, draw.MUTED, bold=True)
        f = self.spec
        draw.text(surface, f.label, self.help_rect.topleft, t.heading, draw.ACCENT, bold=True,
                  max_width=self.help_rect.width)
        draw.paragraph(surface, f.help, pygame.Rect(self.help_rect.left, self.help_rect.top + t.line("heading"),
                                                    self.help_rect.width, self.help_rect.height), t.small, draw.MUTED)
        for label, rect in self.row_labels:
            draw.text(surface, label, (rect.left, rect.centery), t.body, draw.MUTED, anchor="midleft")
        if self.unit and self.unit[0]:
            draw.text(surface, self.unit[0], (self.unit[1].left, self.unit[1].centery), t.body, anchor="midleft")
        y = self.outcome_rect.top
        if self.outcome:
            y = draw.paragraph(surface, self.outcome, self.outcome_rect, t.small) + t.em // 2
        if self.message:
            draw.paragraph(surface, self.message, pygame.Rect(self.outcome_rect.left, y, self.outcome_rect.width,
                                                              self.outcome_rect.bottom - y), t.small, draw.BAD)
