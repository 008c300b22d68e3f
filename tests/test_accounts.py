import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_landing_page_explains_the_product_to_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Draw a digit" in response.content
    assert reverse("signup").encode() in response.content


def test_landing_sends_people_who_are_logged_in_to_draw(user_client):
    response = user_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("recognizer:draw")


def test_sign_up_creates_the_account_and_logs_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": "a-Long-pass-0987",
            "password2": "a-Long-pass-0987",
        },
    )
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="carol").exists()
    assert client.get(reverse("recognizer:draw")).status_code == 200


def test_sign_up_rejects_mismatched_passwords(client):
    response = client.post(
        reverse("signup"), {"username": "dave", "password1": "a-Long-pass-0987", "password2": "other-pass-1234"}
    )
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="dave").exists()
    assert b"errors" in response.content


def test_log_in_and_log_out(client, user, password):
    response = client.post(reverse("login"), {"username": user.username, "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("recognizer:draw")
    assert client.get(reverse("recognizer:draw")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("recognizer:draw")).status_code == 302


def test_log_in_with_a_wrong_password_fails(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("name", ["recognizer:draw", "recognizer:history", "password_change"])
def test_pages_require_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert f"next={url}" in response["Location"]


def test_password_change(user_client, user, password):
    response = user_client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "N3w-secret-pass!", "new_password2": "N3w-secret-pass!"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("N3w-secret-pass!")


def test_password_reset_sends_an_email_with_a_working_link(client, user):
    response = client.post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/reset/" in line).strip()
    path = link[link.index("/accounts/reset/") :]
    response = client.get(path, follow=True)
    assert response.status_code == 200
    assert b"new_password1" in response.content


def test_pages_use_the_site_template(client):
    response = client.get(reverse("login"))
    assert b"theme-toggle" in response.content
    assert b"Forgot your password" in response.content
