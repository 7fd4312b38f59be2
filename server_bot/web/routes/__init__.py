"""One router per resource: `auth` (login/logout/me), `chat` (sessions), `transcripts`, `admin`."""
