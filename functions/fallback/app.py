"""The API's `$default` route: any route or method the API does not serve answers Stytch's error JSON
(404 route_not_found, with a request_id), so Stytch's SDKs raise a StytchError they can read."""

from magiclink import http

app = http.make_resolver()  # no routes of its own: every request reaches its not-found handler

lambda_handler = http.lambda_entry(app, basic_auth=False, check_body=False)
