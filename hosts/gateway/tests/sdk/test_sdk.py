"""The official MeshGuard Python SDK (meshguard 0.1.2, from PyPI, unchanged) against the
real gateway, started by run.sh on the repository's example policies.

Environment: MESHGUARD_GATEWAY_URL and MESHGUARD_ADMIN_TOKEN (set by run.sh).
"""

import os
import uuid

import pytest

from meshguard import (
    AuthenticationError,
    MeshGuardClient,
    MeshGuardError,
    PolicyDeniedError,
    RateLimitError,
)

URL = os.environ["MESHGUARD_GATEWAY_URL"]
ADMIN = os.environ["MESHGUARD_ADMIN_TOKEN"]


def unique(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def admin():
    with MeshGuardClient(gateway_url=URL, admin_token=ADMIN) as client:
        yield client


@pytest.fixture(scope="module")
def clawdbot(admin):
    """A Clawdbot agent (tag `clawdbot`) and a client holding its token."""
    created = admin.create_agent(name=unique("clawdbot-prod"), trust_tier="verified", tags=["clawdbot"])
    assert created["id"].startswith("agent_")
    assert created["token"].startswith("mg_")
    with MeshGuardClient(gateway_url=URL, agent_token=created["token"]) as client:
        yield created, client


def test_health(admin):
    health = admin.health()
    assert health["status"] == "healthy"
    assert health["mode"] == "enforce"
    assert health["policies"] == 11
    assert admin.is_healthy()


def test_check_allowed(clawdbot):
    _, client = clawdbot
    decision = client.check("write:email", resource="bob@yourcompany.com")
    assert decision.allowed is True
    assert decision.decision == "allow"
    assert decision.policy == "clawdbot-email-policy"
    assert decision.trace_id == client.trace_id


def test_check_denied(clawdbot):
    _, client = clawdbot
    decision = client.check("write:email", resource="user@external.com")
    assert decision.allowed is False
    assert decision.decision == "deny"
    assert decision.policy == "clawdbot-email-policy"
    assert decision.rule == "clawdbot-email-policy#3"
    assert decision.reason == "External email requires approval"


def test_enforce_raises_policy_denied(clawdbot):
    _, client = clawdbot
    assert client.enforce("read:email").allowed
    with pytest.raises(PolicyDeniedError) as info:
        client.enforce("delete:email", resource="inbox/42")
    err = info.value
    assert err.policy == "clawdbot-email-policy"
    assert err.rule == "clawdbot-email-policy#4"
    assert err.reason == "Email deletion is prohibited"
    assert "delete:email" in str(err)


def test_govern(clawdbot):
    _, client = clawdbot
    ran = []
    with client.govern("read:calendar") as decision:
        ran.append(decision.allowed)
    assert ran == [True]
    with pytest.raises(PolicyDeniedError):
        with client.govern("read:file", resource="/etc/passwd"):
            ran.append("must not run")
    assert ran == [True]


def test_list_agents(admin, clawdbot):
    created, _ = clawdbot
    agents = {a.id: a for a in admin.list_agents()}
    agent = agents[created["id"]]
    assert agent.name == created["name"]
    assert agent.trust_tier == "verified"
    assert agent.tags == ["clawdbot"]


def test_list_policies(admin):
    policies = admin.list_policies()
    assert len(policies) == 11
    names = {p["name"] for p in policies}
    assert "clawdbot-email-policy" in names and "autogpt-policy" in names
    for p in policies:
        assert isinstance(p["rules"], list) and p["rules"]


def test_audit_log_with_decision_filter(admin, clawdbot):
    created, client = clawdbot
    client.check("write:email", resource="someone@external.com")
    denials = admin.get_audit_log(limit=50, decision="deny")
    assert denials, "the deny above must be in the audit log"
    assert all(e["decision"] == "deny" for e in denials)
    mine = [e for e in denials if e["agentId"] == created["id"] and e["action"] == "write:email"]
    assert mine
    entry = mine[0]
    for key in ("timestamp", "action", "decision", "agentId", "policy", "reason", "traceId"):
        assert key in entry
    assert entry["policy"] == "clawdbot-email-policy"
    assert entry["traceId"] == client.trace_id
    assert len(admin.get_audit_log(limit=3)) == 3


def test_revoked_agent_gets_authentication_error(admin):
    created = admin.create_agent(name=unique("short-lived"), tags=["clawdbot"])
    with MeshGuardClient(gateway_url=URL, agent_token=created["token"]) as client:
        assert client.check("read:email").allowed
        admin.revoke_agent(created["id"])
        with pytest.raises(AuthenticationError):
            client.check("read:email")
        with pytest.raises(AuthenticationError):
            client.enforce("read:email")


def test_unknown_token_and_missing_admin_token():
    with MeshGuardClient(gateway_url=URL, agent_token="mg_not_a_real_token") as client:
        with pytest.raises(AuthenticationError):
            client.check("read:email")
    with MeshGuardClient(gateway_url=URL, admin_token="wrong-admin-token-123456") as client:
        with pytest.raises(AuthenticationError):
            client.list_agents()


def test_rate_limit_error_after_the_autogpt_limit(admin):
    """autogpt-policy: 30 requests per minute per agent; the 31st is refused."""
    created = admin.create_agent(name=unique("autogpt-agent"), trust_tier="verified", tags=["autogpt"])
    with MeshGuardClient(gateway_url=URL, agent_token=created["token"]) as client:
        for i in range(30):
            assert client.check("read:docs", resource=f"page-{i}").allowed, i
        with pytest.raises(RateLimitError):
            client.check("read:docs", resource="page-30")
    limited = [e for e in admin.get_audit_log(limit=100) if e["agentId"] == created["id"]]
    assert any(e["status"] == 429 and e["reason"] == "rate limit exceeded" for e in limited)


def test_proxy_without_upstream_is_a_gateway_error(clawdbot):
    _, client = clawdbot
    # No PROXY_TARGET is configured: the allowed request cannot be forwarded (502).
    with pytest.raises(MeshGuardError):
        client.get("/api/calendar", action="read:calendar")
    with pytest.raises(PolicyDeniedError):
        client.post("/api/email", action="delete:email", json={"id": 1})
