"""The pygame front end: the only package that imports pygame and pygame_gui.

``App`` (``sim.ui.app``) opens the window and runs the scenes; ``sim.ui.demo``
plays a scripted game headless and saves a screenshot of every scene.
"""

import os

# pygame prints a banner on import; a game (and its tests) should not.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
