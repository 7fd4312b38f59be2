"""The lifecycle area's exception tree. Callers catch `LifecycleError`, never `Exception`.

LifecycleError
├── PurgeError     a retention purge could not finish (the database or object store failed); it is
│                  safe to run again - nothing is half-deleted in a way the next run cannot finish
├── ForgetError    a user's data could not all be deleted; run `forget` again for that user
└── ResealError    re-encryption under the current storage key stopped (a row no key opens, a DB error)
"""

from __future__ import annotations


class LifecycleError(Exception):
    """Base of every error raised by `server_bot.lifecycle`."""


class PurgeError(LifecycleError):
    """A retention purge stopped part-way; the next run picks up where it left off."""


class ForgetError(LifecycleError):
    """Deleting a user's data stopped part-way; running it again finishes the job."""


class ResealError(LifecycleError):
    """Re-sealing stopped; what was committed stays re-sealed and a new run continues from there."""
