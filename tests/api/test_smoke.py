from tests import factories as f


def test_dealer_reads_catalog_with_a_token(client):
    f.tier()
    d = f.dealer("SH001")
    f.dealer_user(d.code, "sh")
    f.product("ABC-1", on_hand=50)
    headers = f.token_for(client, "sh")
    body = client.get("/api/v1/catalog", headers=headers).get_json()
    assert [i["sku"] for i in body["items"]] == ["ABC-1"]
    assert body["items"][0]["price"] == "100.00"
