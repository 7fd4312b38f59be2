"""devcord: a local Discord (REST v10 + Gateway v10) that the unmodified discord.py client runs against.

It imports nothing of the product. Start it with `python -m devcord --scenario FILE` or in-process:

    dc = Devcord("devcord/scenarios/demo.yaml")
    await dc.start("127.0.0.1", 0)
    ...  # dc.api_base, dc.gateway_url
    await dc.stop()
"""

from devcord.errors import ApiError, DevcordError, ScenarioError
from devcord.scenario import DEMO
from devcord.server import Devcord

__all__ = ["DEMO", "ApiError", "Devcord", "DevcordError", "ScenarioError"]
