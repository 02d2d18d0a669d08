from tests.api_support import Api, token_for

def test_smoke(admin_a, agent_a):
    api = Api()
    t = token_for(admin_a)
    r = api.get("/v1.0/agents?page_size=2", token=t); print(r.status_code, r.content[:500])
    r = api.get("/v1.0/me", token=t); print(r.status_code, r.content[:300])
    r = api.post("/v1.0/agents", {"username": "test2", "password": "test2"}, token=t); print(r.status_code, r.content[:600])
    r = api.get("/v1.0/agents/", token=t); print(r.status_code, r.content[:300])
    r = api.get("/v1.0/agents/xyz", token=t); print(r.status_code, r.content[:300])
    r = api.post("/v1.0/agents", raw="{bad", token=t); print(r.status_code, r.content[:300])
    r = api.post("/v1.0/agents", raw="a=b", content_type="application/x-www-form-urlencoded", token=t); print(r.status_code, r.content[:300])
    r = api.call("PATCH", "/v1.0/agents", token=t); print(r.status_code, r.content[:300], r.headers)
    r = api.get("/v1.0/agents"); print(r.status_code, r.content[:300], r.headers)
    r = api.get("/v1.0/agents", token="bad"); print(r.status_code, r.content[:300])
    r = api.post("/auth/login", {"username": "alice-admin", "password": "secret-pass"}); print(r.status_code, r.content[:300], r.cookies)
    r = api.get("/v1.0/openapi.json"); print(r.status_code, len(r.content))

    r = api.post("/v1.0/agents", raw='{"username":"a\\u0000"}', token=t); print(r.status_code, r.content[:300])
    r = api.post("/v1.0/agents", raw='['*100000, token=t); print(r.status_code, r.content[:300])
