"""A test bot whose decision is not a Decision."""


class Bot:
    name = "garbage"

    def reset(self, scenario, seed=None):
        pass

    def decide(self, observation, truth=None):
        return {"buy": "everything"}
