// Stytch's own Node SDK's email OTP methods (stytch@14) against `make run`'s server: otps.email.send and
// otps.email.loginOrCreate send the code (read back here from the local outbox, as a reader reads it in the
// email), otps.authenticate signs in with it, and the session JWT verifies with the SDK's own local check.
// Run by tests/sdk/test_node_sdk.py (MAGICLINK_BASE_URL: the deployment's defaults, SignupPolicy invite_only).

import assert from "node:assert/strict";
import { test } from "node:test";

import { client, refused } from "./sdk_helpers.mjs";

const BASE = process.env.MAGICLINK_BASE_URL;
const USER_ID = /^user-test-[0-9a-f-]{36}$/;
const EMAIL_ID = /^email-test-[0-9a-f-]{36}$/;

const stytch = client(BASE);

// The one code of the last email to `email`, as the local outbox lists it.
async function lastCode(email) {
  const outbox = await (await fetch(`${BASE}/_local/outbox.json`)).json();
  const mail = outbox.findLast((m) => m.to.length === 1 && m.to[0] === email);
  assert.equal(mail.codes.length, 1, JSON.stringify(mail.codes));
  assert.match(mail.codes[0], /^[0-9]{6}$/);
  return mail.codes[0];
}

function wrong(code) {
  return String((Number(code) + 1) % 1_000_000).padStart(6, "0");
}

test("otps.email.send, then otps.authenticate: a session and a JWT the SDK verifies", async () => {
  const { user_id } = await stytch.users.create({ email: "node-otp@example.com" });

  const sent = await stytch.otps.email.send({ email: "node-otp@example.com", expiration_minutes: 5 });
  assert.equal(sent.status_code, 200);
  assert.equal(sent.user_id, user_id);
  assert.match(sent.email_id, EMAIL_ID);
  const code = await lastCode("node-otp@example.com");

  const done = await stytch.otps.authenticate({ method_id: sent.email_id, code, session_duration_minutes: 60 });
  assert.equal(done.status_code, 200);
  assert.equal(done.user_id, user_id);
  assert.equal(done.method_id, sent.email_id);
  assert.equal(done.user.status, "active");
  assert.ok(done.session_token && done.session_jwt);
  assert.deepEqual(
    done.session.authentication_factors.map((f) => f.type),
    ["otp"],
  );
  const local = await stytch.sessions.authenticateJwtLocal({ session_jwt: done.session_jwt });
  assert.equal(local.session_id, done.session.session_id);
  assert.equal(local.user_id, user_id);
  const remote = await stytch.sessions.authenticate({ session_token: done.session_token });
  assert.equal(remote.session.session_id, done.session.session_id);

  // The code is spent: the same code again gets the wrong code's answer
  assert.deepEqual(await refused(() => stytch.otps.authenticate({ method_id: sent.email_id, code })), [
    404,
    "otp_code_not_found",
  ]);
});

test("otps.authenticate: a wrong code is refused, and the right one still works", async () => {
  await stytch.users.create({ email: "node-otp-wrong@example.com" });
  const sent = await stytch.otps.email.send({ email: "node-otp-wrong@example.com" });
  const code = await lastCode("node-otp-wrong@example.com");

  assert.deepEqual(await refused(() => stytch.otps.authenticate({ method_id: sent.email_id, code: wrong(code) })), [
    404,
    "otp_code_not_found",
  ]);
  const done = await stytch.otps.authenticate({ method_id: sent.email_id, code });
  assert.equal(done.method_id, sent.email_id);
  assert.equal(done.session_token, "");
});

test("otps.email.loginOrCreate: a known email gets a code; a stranger is refused when invite_only", async () => {
  const { user_id } = await stytch.users.create({ email: "node-otp-known@example.com" });

  const known = await stytch.otps.email.loginOrCreate({ email: "node-otp-known@example.com", expiration_minutes: 10 });
  assert.equal(known.user_id, user_id);
  assert.equal(known.user_created, false);
  assert.match(known.email_id, EMAIL_ID);
  const done = await stytch.otps.authenticate({
    method_id: known.email_id,
    code: await lastCode("node-otp-known@example.com"),
    session_duration_minutes: 30,
  });
  assert.match(done.user_id, USER_ID);
  assert.equal(done.session.user_id, user_id);

  assert.deepEqual(await refused(() => stytch.otps.email.loginOrCreate({ email: "node-otp-stranger@example.com" })), [
    403,
    "signup_not_allowed",
  ]);
});
