"""Unknown URLs: browsers get the dashboard's HTML page, API clients keep the JSON error."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_unknown_dashboard_url_is_an_html_not_found_page(client: TestClient) -> None:
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text


def test_unknown_api_url_keeps_the_json_error_shape(client: TestClient) -> None:
    response = client.get("/api/no/such/route")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
