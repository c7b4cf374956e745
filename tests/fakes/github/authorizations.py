"""A user's authorization of an App: revoking it (by the user or through the API) and its event."""

from __future__ import annotations

from .core import SimCore
from .payloads import account_json
from .state import Account, App


class Authorizations(SimCore):
    def revoke_authorization(self, app: App, user: Account) -> None:
        """The user revokes the App (Settings → Applications, or `DELETE .../grant`).

        Follows https://docs.github.com/en/webhooks/webhook-events-and-payloads#github_app_authorization:
        every user token of the App for that user stops working, and the App receives
        `github_app_authorization.revoked`, which it cannot unsubscribe from.
        """
        self.revoke_user_tokens(app, user)
        payload = {"action": "revoked", "sender": account_json(self.state, user)}
        self.emit_app_event(app, "github_app_authorization", payload)
