"""The server-bot's relay: the hub (routing, failover, timeouts) over a pool of client-bot hosts."""

from server_bot.relay.hosts import ClientStatus, HostInfo
from server_bot.relay.hub import RelayHub
from server_bot.relay.pending import PendingReply
from server_bot.relay_notices import Expired, Offline, Queued, ReplyEvent

__all__ = [
    "ClientStatus",
    "Expired",
    "HostInfo",
    "Offline",
    "PendingReply",
    "Queued",
    "RelayHub",
    "ReplyEvent",
]
