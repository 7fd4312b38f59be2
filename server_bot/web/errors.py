"""The web app's exception tree. Routes raise these; `app.py` turns each into one HTTP answer."""

from __future__ import annotations


class WebError(Exception):
    """Base of every error the web app answers with; `status` is the HTTP status, the message is shown."""

    status = 400


class NotSignedIn(WebError):
    status = 401


class Forbidden(WebError):
    """Signed in, but not allowed: not an AI Admin, or someone else's session or transcript."""

    status = 403


class NotFound(WebError):
    status = 404


class LoginRefused(WebError):
    """Discord login went through but the person may not use MeatLizard (not a member, banned)."""

    status = 403


class LoginFailed(WebError):
    """The OAuth2 exchange itself failed: bad state, denied consent, Discord unreachable."""

    status = 400


class CsrfRefused(WebError):
    status = 403


class ConfirmationRequired(WebError):
    """A destructive request (deleting one's data) came without its confirmation; nothing was done."""

    status = 400


class RateLimited(WebError):
    status = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
