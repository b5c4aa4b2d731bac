// edge/gate.js under edge/harness.mjs (node --test tests/edge/): what the private site's CloudFront Function
// lets through, where it sends everyone else, and that it stays inside CloudFront Functions' limits.
// Cookies are made here with node's crypto by sitecookie.py's formula; tests/infrastructure/test_site_gate.py
// checks one made by sitecookie.py itself.
// No deny-list test: there is none by design. A cookie lives at most 55 s and /_site/refresh checks the session
// in DynamoDB, so a revoked reader is out within 60 s (docs/private-site.md).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import { GATE, MAX_SOURCE_BYTES, loadGate } from '../../edge/harness.mjs';

const KEY = 'c2l0ZS1rZXktb25lLWZvci10aGUtdGVzdHMtMDEyMzQ1Njc4OQ'; // a KeyValueStore value: ASCII text
const KID = '0a1b2c3d';
const OLD_KEY = 'b2xkLWtleS13aGljaC1zdGlsbC12ZXJpZmllcy0wMTIzNDU2Nzg';
const OLD_KID = '9f8e7d6c';
const SESSION = 'session-test-0b7a1c52-1f0e-4c1e-9d55-3b2a1c0d9e8f-s1';

const now = () => Math.floor(Date.now() / 1000);

function cookie({ kid = KID, key = KEY, exp = now() + 55, session = SESSION } = {}) {
  const message = `v1.${kid}.${exp}.${session}`;
  const sig = crypto.createHmac('sha256', key).update(message).digest('base64url');
  return `${message}.${sig}`;
}

function event({ uri = '/', cookies = {}, querystring = {} } = {}) {
  const jar = Object.fromEntries(Object.entries(cookies).map(([name, value]) => [name, { value }]));
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '192.0.2.1' },
    request: { method: 'GET', uri, querystring, headers: { host: { value: 'docs.example.com' } }, cookies: jar },
  };
}

const store = { [`site-key-${KID}`]: KEY, [`site-key-${OLD_KID}`]: OLD_KEY };
const gate = loadGate({ kvs: store });
const run = (e, g = gate) => g.handler(e);

function assertRedirect(result, path, next) {
  assert.equal(result.statusCode, 302, JSON.stringify(result));
  assert.equal(result.headers['cache-control'].value, 'no-store');
  const location = new URL(result.headers.location.value, 'https://docs.example.com');
  assert.equal(location.origin, 'https://docs.example.com');
  assert.equal(location.pathname, path);
  if (next !== undefined) assert.equal(location.searchParams.get('next'), next);
  return location;
}

describe('a valid cookie', () => {
  test('passes the request on, under either cookie name', async () => {
    for (const name of ['__Host-ml_site', 'ml_site']) {
      const result = await run(event({ uri: '/guide/page.html', cookies: { [name]: cookie() } }));
      assert.equal(result.statusCode, undefined, name);
      assert.equal(result.uri, '/guide/page.html', name);
      assert.equal(result.method, 'GET');
    }
  });

  test('rewrites pretty URLs to the index.html objects S3 holds', async () => {
    const cases = {
      '/': '/index.html',
      '/guide/': '/guide/index.html',
      '/guide': '/guide/index.html',
      '/guide/install': '/guide/install/index.html',
      '/assets/app.css': '/assets/app.css',
      '/v1.2/notes': '/v1.2/notes/index.html',
    };
    for (const [uri, expected] of Object.entries(cases)) {
      const result = await run(event({ uri, cookies: { ml_site: cookie() } }));
      assert.equal(result.uri, expected, uri);
    }
  });

  test('signed by the previous key still verifies while that key is in the store (rotation)', async () => {
    const result = await run(event({ cookies: { ml_site: cookie({ kid: OLD_KID, key: OLD_KEY }) } }));
    assert.equal(result.uri, '/index.html');
  });
});

describe('an expired cookie', () => {
  test('goes to /_site/refresh with where it was going', async () => {
    const expired = cookie({ exp: now() - 1 });
    const result = await run(event({ uri: '/guide', querystring: { q: { value: 'a%20b' } }, cookies: { ml_site: expired } }));
    assertRedirect(result, '/_site/refresh', '/guide?q=a%20b');
  });

  test('expiring this very second is expired', async () => {
    assertRedirect(await run(event({ cookies: { ml_site: cookie({ exp: now() }) } })), '/_site/refresh', '/');
  });
});

describe('no access', () => {
  const refused = {
    'no cookie': {},
    'another cookie only': { session: cookie() },
    'a malformed cookie': { ml_site: 'v1.nothex!.1.x.y' },
    'an empty cookie': { ml_site: '' },
    'a tampered session id': { ml_site: cookie().replace(SESSION, `${SESSION.slice(0, -1)}2`) },
    'a tampered expiry': { ml_site: cookie({ exp: 1 }).replace('.1.', `.${now() + 3600}.`) },
    'a tampered signature': { ml_site: cookie().slice(0, -2) + (cookie().endsWith('AA') ? 'BB' : 'AA') },
    'a wrong key': { ml_site: cookie({ key: 'not-the-key' }) },
    'an unknown kid': { ml_site: cookie({ kid: 'ffffffff' }) },
    'an expired cookie under a wrong key': { ml_site: cookie({ key: 'not-the-key', exp: now() - 10 }) },
    'another version': { ml_site: cookie().replace(/^v1/, 'v2') },
  };
  for (const [name, cookies] of Object.entries(refused)) {
    test(`${name} goes to /access`, async () => {
      assertRedirect(await run(event({ uri: '/guide/', cookies })), '/access', '/guide/');
    });
  }

  test('a key removed from the store refuses the cookies it signed (rotation finished)', async () => {
    const rotated = loadGate({ kvs: { [`site-key-${KID}`]: KEY } });
    const old = cookie({ kid: OLD_KID, key: OLD_KEY });
    assertRedirect(await run(event({ cookies: { ml_site: old } }), rotated), '/access', '/');
    assert.equal((await run(event({ cookies: { ml_site: cookie() } }), rotated)).uri, '/index.html');
  });

  test('the store read per request: a lookup function sees the store as it is now', async () => {
    const keys = new Map([[`site-key-${KID}`, KEY]]);
    const live = loadGate({ kvs: (key) => keys.get(key) });
    assert.equal((await run(event({ cookies: { ml_site: cookie() } }), live)).uri, '/index.html');
    keys.delete(`site-key-${KID}`);
    assertRedirect(await run(event({ cookies: { ml_site: cookie() } }), live), '/access');
  });

  test('__Host-ml_site is the one read when both are sent', async () => {
    const result = await run(event({ cookies: { '__Host-ml_site': 'forged', ml_site: cookie() } }));
    assertRedirect(result, '/access');
  });
});

describe('next never leaves the site', () => {
  const escapes = ['//evil.com', '//evil.com/path', '/\\evil.com', '/%2F%2Fevil.com', '/%5Cevil.com', '/%2f/evil.com'];
  for (const uri of escapes) {
    test(`${JSON.stringify(uri)} comes back to /`, async () => {
      const location = assertRedirect(await run(event({ uri })), '/access', '/');
      assert.equal(location.search, '?next=%2F');
    });
  }

  test('a query is kept, encoded, and a broken percent-encoding gives /', async () => {
    const qs = { a: { value: '1' }, b: { value: '', multiValue: [{ value: 'x' }, { value: 'y' }] }, flag: { value: '' } };
    const location = assertRedirect(await run(event({ uri: '/p', querystring: qs })), '/access', '/p?a=1&b=x&b=y&flag');
    assert.equal(location.searchParams.size, 1);
    assertRedirect(await run(event({ uri: '/p%zz' })), '/access', '/');
  });

  test('a control character in the path gives /', async () => {
    assertRedirect(await run(event({ uri: '/p%0d%0aSet-Cookie:x' })), '/access', '/');
  });
});

describe("within CloudFront Functions' limits", () => {
  const source = readFileSync(GATE, 'utf8');

  test('the source is at most 10 KB', () => {
    assert.ok(Buffer.byteLength(source) <= MAX_SOURCE_BYTES, `${Buffer.byteLength(source)} bytes`);
    assert.throws(() => loadGate({ source: `${source}//${'x'.repeat(MAX_SOURCE_BYTES)}` }), /over 10240/);
  });

  test('it imports only cloudfront and crypto, and the harness refuses anything else', () => {
    const imports = [...source.matchAll(/^import\s+\w+\s+from\s+'([^']+)';$/gm)].map((m) => m[1]);
    assert.deepEqual(imports.sort(), ['cloudfront', 'crypto']);
    const plus = (line) => source.replace("import crypto from 'crypto';", `import crypto from 'crypto';\n${line}`);
    assert.throws(() => loadGate({ source: plus("import fs from 'fs';") }), /no module 'fs'/);
    assert.throws(() => loadGate({ source: plus("const fs = require('fs');") }), /only `import/);
    assert.throws(() => loadGate({ source: plus("const m = import('node:fs');") }), /only `import/);
    assert.throws(() => loadGate({ source: plus('export const x = 1;') }), /only `import/);
  });

  test("node's globals are absent: no process, fetch, timers, require, eval", async () => {
    for (const name of ['process', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'Buffer', 'globalThis.require']) {
      const probe = `async function handler(event) { return { uri: typeof ${name} }; }`;
      assert.equal((await loadGate({ source: probe }).handler(event())).uri, 'undefined', name);
    }
    const evil = 'async function handler(event) { return { uri: eval("1") }; }';
    await assert.rejects(loadGate({ source: evil }).handler(event()), /Code generation from strings disallowed/);
  });

  test('the KeyValueStore stub throws for a missing key, as the real get() does', async () => {
    const probe = `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  try { await kvs.get('absent'); return { uri: 'found' }; } catch (e) { return { uri: 'threw' }; }
}`;
    assert.equal((await loadGate({ source: probe, kvs: {} }).handler(event())).uri, 'threw');
  });
});

describe('worker mode (node edge/harness.mjs --serve)', () => {
  test('answers one JSON line per request line, each with its own store', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [GATE.replace(/gate\.js$/, 'harness.mjs'), '--serve']);
    const lines = [
      { id: 1, event: event({ uri: '/a/', cookies: { ml_site: cookie() } }), kvs: store },
      { id: 2, event: event({ uri: '/a/', cookies: { ml_site: cookie() } }), kvs: {} },
    ];
    child.stdin.end(lines.map((l) => JSON.stringify(l)).join('\n') + '\nnot json\n');
    let out = '';
    for await (const chunk of child.stdout) out += chunk;
    const answers = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(answers.length, 3);
    assert.equal(answers[0].id, 1);
    assert.equal(answers[0].result.uri, '/a/index.html');
    assert.equal(answers[1].id, 2);
    assert.equal(answers[1].result.statusCode, 302);
    assert.match(answers[2].error, /JSON/);
  });
});
