"""The game's scenes: title and settings, briefing, the turn's scenes, the debrief."""
