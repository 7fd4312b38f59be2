"""`meatlizard doctor`: one green or red line per thing a deployment needs, each red one with its fix.

Runs on either host (docs/deploy.md): Discord (tokens, intents, membership, permissions, the AI Admin role,
the relay channel), keys, the server-bot's stores, the GPU host's model. One module per area.
"""

from meatlizard.doctor.result import Check, Status
from meatlizard.doctor.runner import print_report, run_checks

__all__ = ["Check", "Status", "print_report", "run_checks"]
