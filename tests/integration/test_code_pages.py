"""The code on the pages: after a reader asks for a link on /access (or an admin on the console's sign-in
page), the same page asks for the code, so they finish on the device they started on. The page tries only a
code whose link that browser asked for (its ticket cookie), each try counted against public code budgets."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

from support import event, last_token, table_items

from magiclink.models.items import MAX_CODE_TRIES

TARGET = "http://127.0.0.1:3000/_local/callback"


def _post_access(api, form: dict, *, cookie: str | None = None, site: str = "same-origin", ip: str = "127.0.0.1"):
    sent = event("access_submit", raw_body=urlencode(form))
    sent["headers"]["sec-fetch-site"] = site
    sent["requestContext"]["http"]["sourceIp"] = ip
    if cookie:
        sent["cookies"] = [cookie]
        sent["headers"]["cookie"] = cookie
    return api.functions.invoke("RequestFunction", sent)


def _ask(api, email: str = "ada@example.com", **kwargs) -> tuple[dict, str]:
    """Ask for a link on /access: (the page, the ticket cookie it set, as the browser sends it back)."""
    page = _post_access(api, {"email": email}, **kwargs)
    cookies = [c for c in page.get("cookies") or [] if c.startswith("ml_code=")]
    return page, cookies[0].split(";")[0] if cookies else ""


def _code(outbox) -> str:
    (code,) = outbox.messages()[-1].codes
    return code


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_asking_on_access_turns_the_page_into_the_code_form_and_the_code_finishes_there(api, outbox, clock):
    api.invite("ada@example.com", delivery="none", invite_magic_link_url=TARGET)
    clock.advance(61)

    page, ticket = _ask(api)
    assert (
        page["statusCode"] == 200 and 'name="code"' in page["body"] and 'autocomplete="one-time-code"' in page["body"]
    )
    assert "HttpOnly" in page["cookies"][0] and "SameSite=Strict" in page["cookies"][0]
    assert "Path=/access" in page["cookies"][0]
    emailed_token = last_token(outbox)

    done = _post_access(api, {"code": " ".join([_code(outbox)[:3], _code(outbox)[3:]])}, cookie=ticket)

    assert done["statusCode"] == 303, done["body"]
    location = urlsplit(done["headers"]["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == TARGET  # app mode: a token for the app
    token = parse_qs(location.query)["token"][0]
    assert token != emailed_token
    assert api.authenticate(token).status == 200  # the app's backend authenticates it once
    assert api.authenticate(token).status == 401
    assert api.authenticate(emailed_token).status == 401  # the emailed link ended with its code


def test_in_hosted_mode_the_code_sets_the_session_as_continue_does(api, outbox, clock):
    api.invite("ada@example.com", delivery="none", invite_magic_link_url=TARGET, session_duration_minutes=60)
    clock.advance(61)
    _, ticket = _ask(api)

    done = _post_access(api, {"code": _code(outbox)}, cookie=ticket)

    assert done["statusCode"] == 303
    fragment = parse_qs(urlsplit(done["headers"]["Location"]).fragment)
    assert fragment["session_token"][0] and fragment["session_jwt"][0]
    reply = api.send("sessions_authenticate", {"session_token": fragment["session_token"][0]})
    assert reply.status == 200 and reply.body["session"]["authentication_factors"][0]["type"] == "otp"


def test_a_wrong_code_keeps_the_form_and_the_fifth_ends_code_and_link(api, outbox, clock):
    api.invite("ada@example.com", delivery="none", invite_magic_link_url=TARGET)
    clock.advance(61)
    _, ticket = _ask(api)
    code, token = _code(outbox), last_token(outbox)

    for _ in range(MAX_CODE_TRIES):
        again = _post_access(api, {"code": _wrong(code)}, cookie=ticket)
        assert again["statusCode"] == 400 and "That code didn" in again["body"] and 'name="code"' in again["body"]

    assert _post_access(api, {"code": code}, cookie=ticket)["statusCode"] == 400
    assert api.authenticate(token).status == 401  # "the person asks for a new one"


def test_without_its_ticket_the_page_tries_no_code_and_writes_nothing(api, outbox, clock):
    """Nobody who did not ask for the link on this browser can spend its tries (and so the reader's link)."""
    api.invite("ada@example.com", invite_magic_link_url=TARGET)
    code = _code(outbox)
    before = table_items()

    for cookie in (None, "ml_code=forged", "ml_code="):
        refused = _post_access(api, {"code": code}, cookie=cookie)
        assert refused["statusCode"] == 400 and "That code didn" in refused["body"]

    assert table_items() == before
    assert api.authenticate(last_token(outbox)).status == 200


def test_a_ticket_covers_only_the_link_asked_for_with_it_and_its_email(api, outbox, clock):
    api.invite("ada@example.com", delivery="none", invite_magic_link_url=TARGET)
    api.invite("bob@example.com", delivery="none", invite_magic_link_url=TARGET)
    clock.advance(61)
    _, ticket = _ask(api, "bob@example.com")
    clock.advance(61)
    api.new_link("ada@example.com")  # a link Ada got some other way: Bob's ticket cannot try it
    assert _post_access(api, {"code": _code(outbox)}, cookie=ticket)["statusCode"] == 400

    clock.advance(11 * 60)  # past CodeLifetimeMinutes: the ticket itself has ended
    _, old_ticket = ticket, ticket
    assert _post_access(api, {"code": "123456"}, cookie=old_ticket)["statusCode"] == 400


def test_code_tries_count_against_public_code_budgets_not_link_requests(api, outbox, clock, configure):
    configure(IP_REQUESTS_PER_HOUR="2")  # code tries from one network: 2 x 5 an hour
    api.invite("ada@example.com", delivery="none", invite_magic_link_url=TARGET)
    clock.advance(61)
    _, ticket = _ask(api, ip="198.51.100.7")
    code = _code(outbox)
    for _ in range(2 * MAX_CODE_TRIES):
        assert _post_access(api, {"code": _wrong(code)}, cookie=ticket, ip="198.51.100.7")["statusCode"] == 400

    assert _post_access(api, {"code": code}, cookie=ticket, ip="198.51.100.7")["statusCode"] == 429
    # the tries spent no link request of that network (its second this hour), nor any admin's allowance
    clock.advance(61)
    page, _ = _ask(api, ip="198.51.100.7")
    assert page["statusCode"] == 200
    clock.advance(2)
    assert api.new_link("ada@example.com").status == 200


def test_a_code_posted_from_another_site_is_refused(api, outbox, clock):
    api.invite("ada@example.com", delivery="none", invite_magic_link_url=TARGET)
    clock.advance(61)
    _, ticket = _ask(api)

    refused = _post_access(api, {"code": _code(outbox)}, cookie=ticket, site="cross-site")

    assert refused["statusCode"] == 403
    assert api.authenticate(last_token(outbox)).status == 200  # nothing was spent


def test_the_console_sign_in_page_takes_the_code_and_the_callback_signs_in(api, outbox, clock):
    api.invite("admin@example.com", role="admin", delivery="none")
    clock.advance(61)
    page = _console(api, "GET", "/console")
    form_cookie = next(c for c in page["cookies"] if c.startswith("ml_console_form=")).split(";")[0]
    csrf = page["body"].split('name="csrf" value="')[1].split('"')[0]
    asked = _console(api, "POST", "/console/sign-in", {"email": "admin@example.com", "csrf": csrf}, [form_cookie])
    assert 'name="code"' in asked["body"]
    ticket = next(c for c in asked["cookies"] if c.startswith("ml_code=")).split(";")[0]

    done = _console(api, "POST", "/console/sign-in", {"code": _code(outbox), "csrf": csrf}, [form_cookie, ticket])

    assert done["statusCode"] == 303
    callback = done["headers"]["Location"]
    assert urlsplit(callback).path == "/console/callback"
    signed_in = _console(api, "GET", callback.split("127.0.0.1:3000", 1)[1], None, [])
    assert signed_in["statusCode"] == 303 and signed_in["cookies"][0].startswith("ml_console=")


def _console(api, method: str, path: str, form: dict | None = None, cookies: list[str] | None = None) -> dict:
    sent = event("console_api" if path.startswith("/console/") else "console")
    parts = urlsplit(path)
    sent["rawPath"] = sent["requestContext"]["http"]["path"] = parts.path
    sent["requestContext"]["http"]["method"] = method
    sent["rawQueryString"] = parts.query
    sent["queryStringParameters"] = {k: v[0] for k, v in parse_qs(parts.query).items()} or None
    sent["headers"].pop("cookie", None)
    sent.pop("cookies", None)
    if cookies:
        sent["cookies"] = cookies
        sent["headers"]["cookie"] = "; ".join(cookies)
    if form is not None:
        sent["body"] = urlencode(form)
        sent["headers"]["content-type"] = "application/x-www-form-urlencoded"
    else:
        sent.pop("body", None)
    return api.functions.invoke("ConsoleFunction", sent)


def test_the_access_page_says_the_same_for_every_email_in_uniform_mode(api, outbox, clock, configure, monkeypatch):
    import time

    monkeypatch.setattr(time, "sleep", lambda _: None)
    configure(REQUEST_RESPONSE_MODE="uniform")
    api.invite("ada@example.com", delivery="none")
    clock.advance(61)

    pages = {email: _ask(api, email)[0] for email in ("ada@example.com", "stranger@example.com")}

    assert pages["ada@example.com"]["body"] == pages["stranger@example.com"]["body"]
    assert all(any(c.startswith("ml_code=") for c in p["cookies"]) for p in pages.values())
    assert json.dumps(outbox.messages()[-1].to) == '["ada@example.com"]'
