"""Which relay channel each request travels on, when the relay has several.

Discord gives a bot about five posts per five seconds *per channel*, so one relay channel caps each
direction at about one post a second however much is batched into it. With several relay channels each
has its own rate-limit bucket and its own sender, and capacity grows with their number.

Ordering is the price: Discord orders the messages of one channel, not those of two. So every message
about one request travels on ONE channel (its lane), in both directions: the server-bot picks the lane of
a new request (a channel that can post at once, if any; among those, the one with the fewest requests
in flight), the client-bot answers on the channel
its prompt came in on, and a request keeps its lane while it is known (a re-sent prompt, a cancel, every
delta and the final answer). A final answer can therefore never be overtaken by an older delta, nor a
prompt by its cancel. Messages about no request (heartbeats, reboot) use the first ("control") channel.

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
    """The relay channels of one link (the first is the control channel) and each request's lane.

    `spread`: a request seen for the first time in an outgoing message gets the least busy channel (the
    server-bot, which starts requests); without it, the control channel (the client-bot, whose requests
    are pinned to their prompt's channel on arrival, so this is only a fallback). `wait_s`, if given,
    says how long an urgent post would wait in a channel now (its sender's pacing): a new request goes
    where it leaves soonest (to a tenth of a second), then where fewest requests are in flight.
    """

    def __init__(
        self,
        channel_ids: list[int],
        *,
        spread: bool,
        keep: int = DEFAULT_KEEP,
        wait_s: Callable[[int], float] | None = None,
    ) -> None:
        if not channel_ids:
            raise ValueError("a relay needs at least one channel")
        self.channel_ids: list[int] = list(dict.fromkeys(channel_ids))
        self._spread = spread
        self._keep = keep
        self._lane: OrderedDict[str, int] = OrderedDict()
        self._load: Counter[int] = Counter()
        self._turn = 0  # round-robin start among equally busy channels
        self._wait_s = wait_s

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
            lane = self._least_busy() if self._spread else self.control
            self._pin(request_id, lane)
        if ends_request(payload):
            self.release(request_id)
        return lane

    def incoming(self, payload: protocol.Payload, channel_id: int) -> None:
        """Record what arrived on `channel_id`: a new request is pinned there; a final answer releases."""
        request_id = request_of(payload)
        if request_id is None:
            return
        if ends_request(payload):
            self.release(request_id)
        elif request_id not in self._lane and channel_id in self.channel_ids:
            self._pin(request_id, channel_id)

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

    def _least_busy(self) -> int:
        count = len(self.channel_ids)
        order = [self.channel_ids[(self._turn + i) % count] for i in range(count)]
        self._turn = (self._turn + 1) % count
        wait_s = self._wait_s or (lambda _: 0.0)
        return min(order, key=lambda channel_id: (round(wait_s(channel_id), 1), self._load[channel_id]))
