"""The server-bot's relay: the hub (routing, failover, timeouts) over a pool of client-bot hosts."""

from server_bot.relay.events import Expired, Offline, Queued, ReplyEvent
from server_bot.relay.hosts import ClientStatus, HostInfo
from server_bot.relay.hub import RelayHub
from server_bot.relay.pending import PendingReply

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
