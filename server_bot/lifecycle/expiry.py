"""The S3 bucket's own expiry rules, set at start-up: a second line of defence behind the purge.

The purge (`server_bot.lifecycle.purge`) is what enforces retention everywhere; a bucket lifecycle rule
also deletes transcripts and backups if the bot is down for long. SeaweedFS 4.x stores and returns the
rules (tests/server_bot/test_lifecycle_s3.py); whether an S3 clone actually enforces them is its own
business, so a refusal is logged and start-up goes on.
"""

from __future__ import annotations

from server_bot.lifecycle.objects import BACKUP_PREFIX, TRANSCRIPT_PREFIX
from server_bot.objects import ObjectStoreError, S3ObjectStore
from shared.log import get_logger

log = get_logger(__name__)


async def apply_bucket_expiry(store: S3ObjectStore, retention_days: int) -> bool:
    """Set expiry rules for `transcripts/` and `backups/`; returns False (and warns) if refused.

    S3 counts whole days from creation, one day past the purge's cutoff at most; the purge stays exact.
    """
    rules = {TRANSCRIPT_PREFIX: retention_days, BACKUP_PREFIX: retention_days}
    try:
        await store.set_expiry_rules(rules)
    except ObjectStoreError as exc:
        log.warning(
            "object store refused bucket lifecycle rules (%s); retention relies on the purge alone", exc
        )
        return False
    log.info("bucket lifecycle: transcripts and backups expire after %d days", retention_days)
    return True
