"""The analytics lab: what a player can learn from observable data only."""
