"""The permission computation of Discord's "Permission Hierarchy" and "Implicit Permissions"."""

from __future__ import annotations

import pytest

from devcord import permissions as P

GUILD = 1
MEMBER = 10
ROLE_A, ROLE_B = 20, 21


def compute(base: int, overwrites: list[P.Overwrite], roles: tuple[int, ...] = (ROLE_A, ROLE_B)) -> int:
    return P.channel_permissions(
        base, {o.id: o for o in overwrites}, guild_id=GUILD, member_id=MEMBER, member_role_ids=roles
    )


BASIC = P.VIEW_CHANNEL | P.SEND_MESSAGES | P.ATTACH_FILES | P.EMBED_LINKS


@pytest.mark.parametrize(
    ("overwrites", "expected"),
    [
        pytest.param([], BASIC, id="no-overwrites-keeps-base"),
        pytest.param([P.Overwrite(GUILD, 0, 0, P.VIEW_CHANNEL)], 0, id="everyone-deny-view-hides-everything"),
        pytest.param(
            [P.Overwrite(GUILD, 0, 0, P.VIEW_CHANNEL), P.Overwrite(ROLE_A, 0, P.VIEW_CHANNEL, 0)],
            BASIC,
            id="role-allow-beats-everyone-deny",
        ),
        pytest.param(
            [P.Overwrite(ROLE_A, 0, P.SEND_MESSAGES, 0), P.Overwrite(ROLE_B, 0, 0, P.SEND_MESSAGES)],
            BASIC,
            id="role-allows-win-over-role-denies",
        ),
        pytest.param(
            [P.Overwrite(ROLE_A, 0, P.VIEW_CHANNEL, 0), P.Overwrite(MEMBER, 1, 0, P.VIEW_CHANNEL)],
            0,
            id="member-deny-beats-role-allow",
        ),
        pytest.param(
            [P.Overwrite(GUILD, 0, 0, P.SEND_MESSAGES)],
            P.VIEW_CHANNEL,
            id="no-send-implicitly-drops-attach-and-embed",
        ),
        pytest.param([P.Overwrite(99, 0, P.MANAGE_ROLES, 0)], BASIC, id="other-role-overwrite-ignored"),
    ],
)
def test_overwrites_apply_in_documented_order(overwrites: list[P.Overwrite], expected: int) -> None:
    assert compute(BASIC, overwrites) == expected


def test_administrator_ignores_overwrites() -> None:
    base = P.base_permissions(P.VIEW_CHANNEL, [P.ADMINISTRATOR], is_owner=False)
    assert compute(base, [P.Overwrite(GUILD, 0, 0, P.VIEW_CHANNEL)]) == P.ALL


def test_owner_has_everything() -> None:
    assert P.base_permissions(0, [], is_owner=True) == P.ALL


def test_permission_names_parse_to_bits() -> None:
    assert P.parse_bits(["view_channel", "SEND_MESSAGES"]) == P.VIEW_CHANNEL | P.SEND_MESSAGES
