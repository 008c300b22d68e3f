"""Log-in lockout (django-axes): a username guessed at from one address is locked for a while."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from digitsite.lockout import client_ip, lockout_response

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
ADMIN_LOGIN = "/admin/login/"
LOCKED = b"Too many failed log-in attempts"


def log_in(client, url, username, password):
    return client.post(url, {"username": username, "password": password, "next": "/"})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def assert_locked(response):
    assert response.status_code == 429
    assert LOCKED in response.content
    assert b"Try again in 15 minutes" in response.content
    assert b"theme-toggle" in response.content  # the site's own page


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_thirty_wrong_passwords_then_the_right_one_is_refused(url, client, staff_user, password):
    answers = [log_in(client, url, staff_user.username, f"guess-{n}") for n in range(30)]

    # The first four are the usual "try again"; from the fifth on, the lockout page.
    assert [a.status_code for a in answers[:4]] == [200] * 4
    assert all(LOCKED not in a.content for a in answers[:4])
    for answer in answers[4:]:
        assert_locked(answer)

    right = log_in(client, url, staff_user.username, password)
    assert_locked(right)
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302  # still not in


def test_the_lock_lifts_after_the_cool_off(client, user, password):
    for n in range(5):
        log_in(client, LOGIN, user.username, f"guess-{n}")
    assert_locked(log_in(client, LOGIN, user.username, password))

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))

    assert log_in(client, LOGIN, user.username, password).status_code == 302
    assert logged_in(client)


def test_a_success_before_the_limit_logs_in_and_starts_the_count_again(client, user, password):
    for n in range(4):
        assert log_in(client, LOGIN, user.username, f"typo-{n}").status_code == 200
    assert log_in(client, LOGIN, user.username, password).status_code == 302
    assert logged_in(client)
    client.post(reverse("logout"))

    # Four more typos are not a fifth and later failure: no lockout.
    for n in range(4):
        answer = log_in(client, LOGIN, user.username, f"typo-again-{n}")
        assert answer.status_code == 200
        assert LOCKED not in answer.content
    assert log_in(client, LOGIN, user.username, password).status_code == 302


def test_a_success_resets_only_its_own_username_and_address(user, other_user, password):
    alice = Client(REMOTE_ADDR="10.0.0.1")
    for n in range(4):
        log_in(alice, LOGIN, user.username, f"guess-{n}")
        log_in(alice, LOGIN, other_user.username, f"guess-{n}")

    assert log_in(alice, LOGIN, user.username, password).status_code == 302

    # Bob's four failures from the same address still count.
    assert_locked(log_in(Client(REMOTE_ADDR="10.0.0.1"), LOGIN, other_user.username, "guess-4"))


def test_the_lock_is_on_the_username_and_address_together(user, other_user, password):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(10):
        log_in(attacker, LOGIN, user.username, f"guess-{n}")
    assert_locked(log_in(attacker, LOGIN, user.username, password))

    # Alice from her own address is not locked out of her account by someone else's guesses,
    owner = Client(REMOTE_ADDR="198.51.100.7")
    assert log_in(owner, LOGIN, user.username, password).status_code == 302
    # and others behind the attacker's address (an office, a mobile network) can still log in.
    neighbour = Client(REMOTE_ADDR="203.0.113.9")
    assert log_in(neighbour, LOGIN, other_user.username, password).status_code == 302


def test_a_forged_x_forwarded_for_does_not_get_round_the_lock(user, password):
    # No proxies configured (NUM_PROXIES=0): the header is the client's to write, so it is ignored.
    client = Client()
    for n in range(5):
        log_in(client, LOGIN, user.username, f"guess-{n}")
    answer = client.post(
        LOGIN, {"username": user.username, "password": password}, HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 10}"
    )
    assert_locked(answer)


def test_behind_proxies_the_address_is_the_one_the_outermost_proxy_saw():
    factory = RequestFactory()
    request = factory.post(LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.0.0.1")

    assert client_ip(request) == "10.0.0.2"
    with override_settings(REST_FRAMEWORK={"NUM_PROXIES": 2}):
        # The client wrote 6.6.6.6; the first proxy saw 198.51.100.7 and the second saw the first proxy.
        assert client_ip(request) == "198.51.100.7"


def test_the_lockout_answer_is_json_under_the_api():
    response = lockout_response(RequestFactory().post("/api/v1/auth/token/"))

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert b'"code": "locked_out"' in response.content
    assert response["Retry-After"] == str(15 * 60)


def test_the_test_client_login_and_the_api_token_endpoint_still_work(client, user, password):
    # The test client calls authenticate() without a request: the lockout backend lets it through to the password.
    assert client.login(username=user.username, password=password)
    assert not Client().login(username=user.username, password="wrong")

    token = client.post("/api/v1/auth/token/", {"username": user.username, "password": password})
    assert token.status_code == 200
    wrong = client.post("/api/v1/auth/token/", {"username": user.username, "password": "wrong"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_credentials"


def test_the_api_token_endpoint_is_locked_out_like_the_log_in_form(client, user, password):
    token_url = "/api/v1/auth/token/"
    answers = [client.post(token_url, {"username": user.username, "password": f"guess-{n}"}) for n in range(30)]

    assert [a.status_code for a in answers[:4]] == [400] * 4
    for answer in answers[4:]:
        assert answer.status_code == 429
        assert answer.json()["code"] == "locked_out"
        assert answer["Retry-After"] == str(15 * 60)

    right = client.post(token_url, {"username": user.username, "password": password})
    assert right.status_code == 429
    assert right.json()["code"] == "locked_out"
    # One count for the pair: the guesses through the API lock the log-in form too.
    assert_locked(log_in(client, LOGIN, user.username, password))
