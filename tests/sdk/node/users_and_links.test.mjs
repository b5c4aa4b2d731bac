// Stytch's own Node SDK (stytch@14) against `make run`'s server, as an app would call it: login_or_create,
// embeddable links, the Users API and sessions.get, with their documented errors. Run by
// tests/sdk/test_node_sdk.py, which starts the servers and passes their URLs in MAGICLINK_BASE_URL (the
// deployment's defaults) and MAGICLINK_OPEN_BASE_URL (SignupPolicy open).
//
// The SDK refuses http:// for `custom_base_url`; `env` (any URL, here with a trailing slash) is used as is.

import assert from "node:assert/strict";
import { test } from "node:test";

import { client, refused } from "./sdk_helpers.mjs";

const NOBODY = "user-test-00000000-0000-4000-8000-000000000000";
const USER_ID = /^user-test-[0-9a-f-]{36}$/;

const stytch = client(process.env.MAGICLINK_BASE_URL);
const open = client(process.env.MAGICLINK_OPEN_BASE_URL);

async function lastToken(base, email) {
  const outbox = await (await fetch(`${base}/_local/outbox.json`)).json();
  const mail = outbox.findLast((m) => m.to.length === 1 && m.to[0] === email);
  return new URL(mail.links[0]).searchParams.get("token");
}

function assertUser(user, email) {
  assert.match(user.user_id, USER_ID);
  assert.equal(user.emails[0].email, email);
  for (const list of ["phone_numbers", "webauthn_registrations", "providers", "totps", "crypto_wallets"]) {
    assert.ok(Array.isArray(user[list]), list);
  }
  assert.ok(["pending", "active"].includes(user.status));
  assert.equal(typeof user.is_locked, "boolean");
}

function query(...operands) {
  return { operator: "AND", operands: operands.map(([filter_name, filter_value]) => ({ filter_name, filter_value })) };
}

test("users: create, get, update, delete", async () => {
  const created = await stytch.users.create({
    email: "node-ada@example.com",
    name: { first_name: "Ada" },
    trusted_metadata: { plan: "team", seats: 3 },
  });
  assert.equal(created.status_code, 200);
  assert.equal(created.status, "pending");
  assertUser(created.user, "node-ada@example.com");

  const got = await stytch.users.get({ user_id: created.user_id });
  assertUser(got, "node-ada@example.com");
  assert.deepEqual(got.name, { first_name: "Ada", middle_name: "", last_name: "" });

  const updated = await stytch.users.update({
    user_id: created.user_id,
    name: { last_name: "Lovelace" },
    trusted_metadata: { seats: null, region: "eu" },
  });
  assert.equal(updated.user.name.last_name, "Lovelace");
  assert.deepEqual(updated.user.trusted_metadata, { plan: "team", region: "eu" });
  assert.deepEqual(updated.crypto_wallets, []);

  const deleted = await stytch.users.delete({ user_id: created.user_id });
  assert.equal(deleted.user_id, created.user_id);
  assert.deepEqual(await refused(() => stytch.users.get({ user_id: created.user_id })), [404, "user_not_found"]);
});

test("users: documented errors", async () => {
  await stytch.users.create({ email: "node-dup@example.com" });
  assert.deepEqual(await refused(() => stytch.users.create({ email: "node-dup@example.com" })), [400, "duplicate_email"]);
  assert.deepEqual(await refused(() => stytch.users.delete({ user_id: NOBODY })), [404, "user_not_found"]);
  const unsupported = query(["phone_number", ["+15555550100"]]);
  assert.deepEqual(await refused(() => stytch.users.search({ query: unsupported })), [400, "unsupported_search_filter"]);
});

test("users: search with filters, and every page through the SDK's iterator", async () => {
  const ids = [];
  for (const n of [0, 1, 2, 3, 4]) {
    ids.push((await stytch.users.create({ email: `node-search-${n}@example.com` })).user_id);
  }

  const found = [];
  for await (const results of stytch.users.searchAll({ limit: 2, query: query(["email_address_fuzzy", "node-search-"]) })) {
    found.push(...results.map((user) => user.user_id));
  }
  assert.deepEqual(found, ids);

  const one = await stytch.users.search({ query: query(["user_id", [ids[2]]], ["status", "pending"]) });
  assert.deepEqual(
    one.results.map((user) => user.user_id),
    [ids[2]],
  );
  assert.deepEqual(one.results_metadata, { total: 1, next_cursor: null });
  const byEmail = await stytch.users.search({ query: query(["email_address", ["node-search-4@example.com"]]) });
  assert.deepEqual(
    byEmail.results.map((user) => user.user_id),
    [ids[4]],
  );
});

test("magicLinks.email.loginOrCreate: a known user logs in; a stranger is refused under invite_only", async () => {
  const { user_id } = await stytch.users.create({ email: "node-known@example.com" });

  const known = await stytch.magicLinks.email.loginOrCreate({ email: "node-known@example.com" });
  assert.equal(known.user_id, user_id);
  assert.equal(known.user_created, false);
  const token = await lastToken(process.env.MAGICLINK_BASE_URL, "node-known@example.com");
  const authenticated = await stytch.magicLinks.authenticate({ token, session_duration_minutes: 30 });
  assert.equal(authenticated.user.status, "active");

  const stranger = () => stytch.magicLinks.email.loginOrCreate({ email: "node-stranger@example.com" });
  assert.deepEqual(await refused(stranger), [403, "signup_not_allowed"]);
});

test("magicLinks.email.loginOrCreate: a stranger is signed up under open", async () => {
  const created = await open.magicLinks.email.loginOrCreate({
    email: "node-new@example.com",
    signup_expiration_minutes: 30,
    create_user_as_pending: true,
  });
  assert.equal(created.user_created, true);
  assert.match(created.email_id, /^email-test-/);

  const token = await lastToken(process.env.MAGICLINK_OPEN_BASE_URL, "node-new@example.com");
  assert.equal((await open.magicLinks.authenticate({ token })).user_id, created.user_id);
});

test("magicLinks.create: an embeddable token authenticates once", async () => {
  const { user_id } = await stytch.users.create({ email: "node-embed@example.com" });

  const created = await stytch.magicLinks.create({ user_id, expiration_minutes: 10 });
  assert.equal(created.user_id, user_id);

  const authenticated = await stytch.magicLinks.authenticate({ token: created.token, session_duration_minutes: 60 });
  assert.equal(authenticated.user_id, user_id);
  const again = () => stytch.magicLinks.authenticate({ token: created.token });
  assert.deepEqual(await refused(again), [401, "unable_to_auth_magic_link"]);
  assert.deepEqual(await refused(() => stytch.magicLinks.create({ user_id: NOBODY })), [404, "user_not_found"]);
});

test("sessions.get: the user's live sessions", async () => {
  const { user_id } = await stytch.users.create({ email: "node-sessions@example.com" });
  const { token } = await stytch.magicLinks.create({ user_id });
  const { session } = await stytch.magicLinks.authenticate({ token, session_duration_minutes: 60 });

  const listed = await stytch.sessions.get({ user_id });
  assert.deepEqual(
    listed.sessions.map((s) => s.session_id),
    [session.session_id],
  );
  assert.equal(listed.sessions[0].authentication_factors[0].email_factor.email_address, "node-sessions@example.com");

  await stytch.sessions.revoke({ session_id: session.session_id });
  assert.deepEqual((await stytch.sessions.get({ user_id })).sessions, []);
  assert.deepEqual(await refused(() => stytch.sessions.get({ user_id: NOBODY })), [404, "user_not_found"]);
});
