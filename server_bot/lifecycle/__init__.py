"""Data lifecycle: retention purge, forget and export for one user, re-sealing under a new storage key,
and rate-limited security alerts. Built on `server_bot.db`'s models and sealer and on the object stores;
imports nothing of discord.py. Errors derive from `LifecycleError`.

Wiring (server-bot start-up): `job = await start_retention(sessionmaker, store, RetentionSettings, audit)`
(S3 expiry rules + the scheduled purge), `job.aclose()` on shutdown; `UserDataService(...)` for the
`/chat forget` and `/chat export` front ends; `SecurityAlerts(poster)` for the admin channel, fed by
`audit.add_sink(AuditWatcher(alerts))`.
"""

from server_bot.lifecycle.alerts import AlertKind, AlertPoster, SecurityAlerts
from server_bot.lifecycle.errors import ForgetError, LifecycleError, PurgeError, ResealError
from server_bot.lifecycle.expiry import apply_bucket_expiry
from server_bot.lifecycle.export import EXPORT_FORMAT, export_user, export_user_json
from server_bot.lifecycle.forget import FORGET_AUDIT_EVENT, ForgetReport, forget_user
from server_bot.lifecycle.purge import PurgeReport, purge_expired
from server_bot.lifecycle.reseal import ResealProgress, reseal_rows
from server_bot.lifecycle.scheduler import PURGE_AUDIT_EVENT, PeriodicJob, retention_job, start_retention
from server_bot.lifecycle.service import EXPORT_AUDIT_EVENT, UserDataService
from server_bot.lifecycle.watch import AuditWatcher

__all__ = [
    "EXPORT_AUDIT_EVENT",
    "EXPORT_FORMAT",
    "FORGET_AUDIT_EVENT",
    "PURGE_AUDIT_EVENT",
    "AlertKind",
    "AlertPoster",
    "AuditWatcher",
    "ForgetError",
    "ForgetReport",
    "LifecycleError",
    "PeriodicJob",
    "PurgeError",
    "PurgeReport",
    "ResealError",
    "ResealProgress",
    "SecurityAlerts",
    "UserDataService",
    "apply_bucket_expiry",
    "export_user",
    "export_user_json",
    "forget_user",
    "purge_expired",
    "reseal_rows",
    "retention_job",
    "start_retention",
]
