"""Which relay channel each message about a request travels on, when the relay has several.

Discord gives a bot about five posts per five seconds *per channel*, so one relay channel caps each
direction at about one post a second however much is batched into it. With several relay channels each
has its own rate-limit bucket and its own sender, and capacity grows with their number.

Ordering is the price: Discord orders the messages of one channel, not those of two. So every message
one side sends about one request travels on ONE channel (that side's lane for the request): the
server-bot's PROMPT, a re-sent PROMPT and the CANCEL on one; the client-bot's ACCEPTED, every DELTA and
the DONE/FAILED on one. A final answer can therefore never be overtaken by an older delta, nor a prompt
by its cancel. Each side picks its lane when it first sends about the request, independently: a channel
that has just posted and may post again within a moment (the message rides along), else where an urgent
post would leave soonest (to a tenth of a second), then the one with the fewest of its requests in
flight. Riding along keeps the other channels' early posts for what arrives next: in a burst, choosing
only by "soonest" put every channel in phase (all spent their early posts within the first fraction of a
second, then all waited). An answer does not wait for the prompt's channel to have room again; nothing
ties the two directions together (the prompt was already read). The client-bot's lane is chosen when it
accepts a prompt; if only that acceptance is still waiting when the first text comes, the text takes
whichever channel can post soonest then and the acceptance is dropped (`RelayLink.send`). Messages
about no request (heartbeats, reboot) use the first ("control") channel, and requests use it last (among
channels that can post equally soon): a host's heartbeats must not wait behind its answers, or the
server-bot would take it for gone.

A side that only answers (`heard_only`, the client-bot) picks among the channels the peer has been
heard in (an authenticated message arrived there) and the control channel, so a private look-alike
channel that the server-bot does not read never gets an answer.

`Lanes` is pure (no time, no Discord) and forgets the oldest requests beyond `keep`.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable

from shared import protocol

DEFAULT_KEEP = 4096


def request_of(payload: protocol.Payload) -> str | None:
    """The request a message is about, or None for control messages."""
    match payload:
        case (
            protocol.Prompt()
            | protocol.Cancel()
            | protocol.Accepted()
            | protocol.Delta()
            | protocol.Done()
            | protocol.Failed()
        ):
            return payload.request_id
        case _:
            return None


def ends_request(payload: protocol.Payload) -> bool:
    return isinstance(payload, protocol.Done | protocol.Failed)


class Lanes:
    """The relay channels of one link (the first is the control channel) and this side's lane per request.

    `wait_s`, if given, says how long an urgent post would wait in a channel now (its sender's pacing);
    `gathering`, whether a channel has just posted and may post again within a moment (a new request
    joins that post rather than open another channel).
    `heard_only`: new requests take only channels `incoming` has seen the peer in, or the control one.
    """

    def __init__(
        self,
        channel_ids: list[int],
        *,
        heard_only: bool = False,
        keep: int = DEFAULT_KEEP,
        wait_s: Callable[[int], float] | None = None,
        gathering: Callable[[int], bool] | None = None,
    ) -> None:
        if not channel_ids:
            raise ValueError("a relay needs at least one channel")
        self.channel_ids: list[int] = list(dict.fromkeys(channel_ids))
        self._heard_only = heard_only
        self._heard: set[int] = set()
        self._keep = keep
        self._lane: OrderedDict[str, int] = OrderedDict()
        self._load: Counter[int] = Counter()
        self._turn = 0  # round-robin start among equally good channels
        self._wait_s = wait_s
        self._gathering = gathering

    @property
    def control(self) -> int:
        return self.channel_ids[0]

    def __contains__(self, channel_id: int) -> bool:
        return channel_id in self.channel_ids

    def add(self, channel_id: int) -> None:
        if channel_id not in self.channel_ids:
            self.channel_ids.append(channel_id)

    def lane_of(self, request_id: str) -> int | None:
        return self._lane.get(request_id)

    def outgoing(self, payload: protocol.Payload) -> int:
        """The channel `payload` must leave on; a final answer releases its request's lane."""
        request_id = request_of(payload)
        if request_id is None:
            return self.control
        lane = self._lane.get(request_id)
        if lane is None:
            lane = self._soonest()
            self._pin(request_id, lane)
        if ends_request(payload):
            self.release(request_id)
        return lane

    def incoming(self, payload: protocol.Payload, channel_id: int) -> None:
        """Record an authenticated message from the peer in `channel_id`: the channel is heard (usable
        for answers); a final answer ends the request here too."""
        if channel_id in self.channel_ids:
            self._heard.add(channel_id)
        request_id = request_of(payload)
        if request_id is not None and ends_request(payload):
            self.release(request_id)

    def release(self, request_id: str) -> None:
        lane = self._lane.pop(request_id, None)
        if lane is not None:
            self._load[lane] -= 1

    def _pin(self, request_id: str, channel_id: int) -> None:
        self._lane[request_id] = channel_id
        self._load[channel_id] += 1
        while len(self._lane) > self._keep:
            _, oldest = self._lane.popitem(last=False)
            self._load[oldest] -= 1

    def _soonest(self) -> int:
        usable = [
            channel_id
            for channel_id in self.channel_ids
            if not self._heard_only or channel_id == self.control or channel_id in self._heard
        ]
        count = len(usable)
        order = [usable[(self._turn + i) % count] for i in range(count)]
        self._turn = (self._turn + 1) % max(1, len(self.channel_ids))
        wait_s = self._wait_s or (lambda _: 0.0)
        gathering = self._gathering or (lambda _: False)
        spare_control = count > 1  # heartbeats need its bucket: requests go there last

        def rank(channel_id: int) -> tuple[bool, float, bool, int]:
            control = spare_control and channel_id == self.control
            return (
                control or not gathering(channel_id),
                round(wait_s(channel_id), 1),
                control,
                self._load[channel_id],
            )

        return min(order, key=rank)
