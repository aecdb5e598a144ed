"""The game's scenes, one module each, registered by name (``sim.ui.scene.register``).

Importing this package registers them all; scenes reach one another by
name through the app's scene manager and never import each other.
"""

from . import (briefing, confirm, dashboard, debrief, decisions, glossary, guide, lab,  # noqa: F401
               results, rule, settings, title)
