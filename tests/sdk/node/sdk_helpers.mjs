// What both Node SDK suites share: a Client for one of the local servers, and the StytchError a call raises.

import assert from "node:assert/strict";

import { Client, StytchError } from "stytch";

// The SDK refuses http:// for `custom_base_url`; `env` (any URL, here with a trailing slash) is used as is.
export function client(base) {
  return new Client({
    project_id: process.env.MAGICLINK_PROJECT_ID,
    secret: process.env.MAGICLINK_SECRET,
    env: `${base}/`,
  });
}

// The call's StytchError: status, Stytch's error_type, and the request id and docs URL every error carries.
export async function refused(call) {
  const error = await call().then(
    () => assert.fail("expected a StytchError"),
    (e) => e,
  );
  assert.ok(error instanceof StytchError, String(error));
  assert.match(error.request_id, /^request-id-/);
  assert.ok(error.error_url && error.error_message);
  return [error.status_code, error.error_type];
}
