def test_probe(api, cast, ticket_a):
    r = api.agent(cast.agent_a).post(
        "/api/v1/tickets/",
        data='{"subject": "\\ud800", "body": "b", "requester": 1}',
        content_type="application/json",
    )
    print("SURR", r.status_code, r.content)
    r = api.agent(cast.agent_a).patch(f"/api/v1/tickets/{ticket_a.number}/", {}, format="json")
    print("EMPTY", r.status_code, r.content)
    r = api.client_user(cast.alice).patch(
        f"/api/v1/tickets/{ticket_a.number}/", {"subject": "Mine now"}, format="json"
    )
    print("CLIENT", r.status_code, r.content)
