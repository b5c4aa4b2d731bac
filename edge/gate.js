// The private site's gate: a CloudFront Function (cloudfront-js-2.0) on the viewer request of the site's
// default behaviour. It checks the signed cookie that layers/magiclink/magiclink/sitecookie.py defines,
//   v1.<kid>.<exp>.<session_id>.<sig>   sig = base64url(HMAC-SHA256(key, "v1.<kid>.<exp>.<session_id>"))
// with the key read from the KeyValueStore entry site-key-<kid>. No network, no deny-list: a cookie lives
// at most 55 s, and /_site/refresh checks the session in DynamoDB before it signs another, so a revoked
// reader is out within 60 s without the service ever writing to the KeyValueStore (docs/private-site.md).
// template.yaml carries this file's text as the function's code (a test keeps the two equal).
import cf from 'cloudfront';
import crypto from 'crypto';

const kvs = cf.kvs();
// __Host-ml_site over https (deployed); ml_site is the local http stand-in's, where __Host- cannot be set.
const COOKIES = ['__Host-ml_site', 'ml_site'];
const SHAPE = /^v1\.([0-9a-f]{8})\.([0-9]{1,12})\.([A-Za-z0-9-]{1,128})\.([A-Za-z0-9_-]{43})$/;

function redirect(path, next) {
  return {
    statusCode: 302,
    statusDescription: 'Found',
    headers: {
      location: { value: path + '?next=' + encodeURIComponent(next) },
      'cache-control': { value: 'no-store' },
    },
  };
}

// Where to come back to: the request's own path and query, and only ever a path of this site. A path
// that could read as another host (//evil.com, /\evil, or either percent-encoded) becomes "/".
// Query values arrive as the viewer sent them, still percent-encoded, so they are joined back as they are.
function nextOf(request) {
  const parts = [];
  const qs = request.querystring || {};
  for (const name of Object.keys(qs)) {
    const entry = qs[name];
    const values = entry.multiValue ? entry.multiValue : [entry];
    for (const v of values) parts.push(v.value === '' ? name : name + '=' + v.value);
  }
  const next = request.uri + (parts.length ? '?' + parts.join('&') : '');
  let decoded;
  try {
    decoded = decodeURIComponent(next);
  } catch (e) {
    return '/';
  }
  const local = /^\/(?![\/\\])/;
  if (!local.test(next) || !local.test(decoded) || /[\u0000-\u001f\u007f]/.test(decoded)) return '/';
  return next;
}

// Static site generators (MkDocs, Docusaurus, Hugo) link pretty URLs (/guide/, /guide), and a plain S3
// origin has no index documents: the object is /guide/index.html.
function rewrite(uri) {
  if (uri.endsWith('/')) return uri + 'index.html';
  const last = uri.slice(uri.lastIndexOf('/') + 1);
  return last.includes('.') ? uri : uri + '/index.html';
}

function b64url(digest) {
  return digest.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function same(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

// 'fresh', 'expired' (signed by an accepted key, past its exp) or 'invalid'.
async function check(cookie, now) {
  const match = SHAPE.exec(cookie);
  if (!match) return 'invalid';
  let key;
  try {
    key = await kvs.get('site-key-' + match[1]);
  } catch (e) {
    return 'invalid'; // no such key: never issued, or retired
  }
  const message = cookie.slice(0, cookie.lastIndexOf('.'));
  const sig = b64url(crypto.createHmac('sha256', key).update(message).digest('base64'));
  if (!same(sig, match[4])) return 'invalid';
  return Number(match[2]) > now ? 'fresh' : 'expired';
}

async function handler(event) {
  const request = event.request;
  const cookies = request.cookies || {};
  const name = COOKIES.find((n) => cookies[n]);
  const now = Math.floor(Date.now() / 1000);
  const state = name ? await check(cookies[name].value || '', now) : 'invalid';
  if (state === 'fresh') {
    request.uri = rewrite(request.uri);
    return request;
  }
  return redirect(state === 'expired' ? '/_site/refresh' : '/access', nextOf(request));
}
