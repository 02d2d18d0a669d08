"""REST doors onto agents, access keys and login (contract sections 2, 6, 8, 9).

Each view: resolve the object through a selector (another customer's is 404), check who may
act with `agents.permissions` (403) where the contract's table is narrower than the service,
then pass the body's values to the service (which validates them) and render.
"""

from agents.api.views.access_keys import (
    AccessKeyCollectionView,
    AccessKeyDetailView,
)
from agents.api.views.agents import (
    AgentAddressesView,
    AgentCollectionView,
    AgentDetailView,
    AgentDirectHashView,
    AgentPasswordView,
    AgentPermissionView,
    AgentStatusView,
    AgentTagIdsView,
)
from agents.api.views.auth import (
    LoginView,
    LogoutView,
    MeView,
    VersionedLoginView,
    VersionedLogoutView,
)
from agents.api.views.self_service import (
    CustomerAgentCollectionView,
    CustomerAgentDetailView,
    OwnAddressesView,
    OwnAgentView,
    OwnPasswordView,
    OwnStatusView,
)

__all__ = [
    "AccessKeyCollectionView",
    "AccessKeyDetailView",
    "AgentAddressesView",
    "AgentCollectionView",
    "AgentDetailView",
    "AgentDirectHashView",
    "AgentPasswordView",
    "AgentPermissionView",
    "AgentStatusView",
    "AgentTagIdsView",
    "CustomerAgentCollectionView",
    "CustomerAgentDetailView",
    "LoginView",
    "LogoutView",
    "MeView",
    "OwnAddressesView",
    "OwnAgentView",
    "OwnPasswordView",
    "OwnStatusView",
    "VersionedLoginView",
    "VersionedLogoutView",
]
