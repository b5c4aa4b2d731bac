// Runs edge/gate.js under node the way CloudFront Functions would, and no more generously: the tests use it
// (tests/edge), and so does the local stack's stand-in for the distribution (`--serve`, below).
//
// The source is evaluated with node:vm in a fresh context holding only what the cloudfront-js-2.0 runtime
// provides: the language's built-ins, console, and the two modules it may import, `cloudfront` (with a
// KeyValueStore stub) and `crypto`. Any other import, require(), a dynamic import() and node's globals
// (process, fetch, setTimeout, Buffer...) are refused or absent, so code that would not
// run at the edge does not run here either.
//
//   import { loadGate } from './edge/harness.mjs';
//   const gate = loadGate({ kvs: { 'site-key-0123abcd': '...' } });   // or kvs: (key) => value | undefined
//   const result = await gate.handler(event);   // the request (passed on) or a response (a redirect)
//
// Worker mode, one process for every request: `node edge/harness.mjs --serve` reads newline-delimited JSON
// on stdin, {"id": ..., "event": <viewer-request event>, "kvs": {key: value, ...}}, and writes one line per
// request on stdout, {"id": ..., "result": <request or response>} (or {"id": ..., "error": "..."}).
import nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

export const GATE = fileURLToPath(new URL('./gate.js', import.meta.url));
export const MAX_SOURCE_BYTES = 10 * 1024; // CloudFront Functions' maximum function size
const MODULES = { cloudfront: 'cf', crypto: 'crypto' }; // the only modules the runtime has
const IMPORT = /^[ \t]*import[ \t]+(\w+)[ \t]+from[ \t]+['"]([^'"]+)['"];?[ \t]*$/gm;

// The runtime's crypto: hashes and HMACs (digest() without an encoding returns bytes, as 2.0 does).
function cfCrypto() {
  const wrap = (h) => ({
    update(data) {
      h.update(data);
      return this;
    },
    digest: (encoding) => (encoding ? h.digest(encoding) : h.digest()),
  });
  return Object.freeze({
    createHash: (algorithm) => wrap(nodeCrypto.createHash(algorithm)),
    createHmac: (algorithm, key) => wrap(nodeCrypto.createHmac(algorithm, key)),
  });
}

// The runtime's cloudfront module: kvs() reads the store the caller gives (an object, or a lookup function).
// get() of a missing key rejects, as the real one does; values are strings unless format says otherwise.
function cfModule(kvs) {
  const lookup = typeof kvs === 'function' ? kvs : (key) => (Object.hasOwn(kvs || {}, key) ? kvs[key] : undefined);
  const handle = Object.freeze({
    async get(key, options) {
      const value = lookup(key);
      if (value === undefined || value === null) throw new Error(`KeyValueStore: key not found: ${key}`);
      const format = (options && options.format) || 'string';
      if (format === 'json') return JSON.parse(value);
      if (format === 'bytes') return new TextEncoder().encode(String(value));
      return String(value);
    },
    async exists(key) {
      const value = lookup(key);
      return value !== undefined && value !== null;
    },
    async meta() {
      return { creationDateTime: '1970-01-01T00:00:00Z', lastUpdatedDateTime: '1970-01-01T00:00:00Z', keyCount: 0 };
    },
  });
  return Object.freeze({ kvs: () => handle });
}

// The source with its imports bound: each must be one of the runtime's modules; nothing else may load code.
function compile(source) {
  if (Buffer.byteLength(source, 'utf8') > MAX_SOURCE_BYTES) {
    throw new Error(`the function is ${Buffer.byteLength(source, 'utf8')} bytes, over ${MAX_SOURCE_BYTES}`);
  }
  const bindings = [];
  const body = source.replace(IMPORT, (_, name, module) => {
    if (!Object.hasOwn(MODULES, module)) throw new Error(`CloudFront Functions has no module '${module}'`);
    bindings.push([name, module]);
    return '';
  });
  if (/\bimport\b|\brequire\s*\(|\bexport\b/.test(body.replace(/\/\/.*$/gm, ''))) {
    throw new Error('only `import x from "cloudfront" | "crypto"` loads code in CloudFront Functions');
  }
  return { body, bindings };
}

export function loadGate({ kvs = {}, source = readFileSync(GATE, 'utf8') } = {}) {
  const { body, bindings } = compile(source);
  const modules = { cloudfront: cfModule(kvs), crypto: cfCrypto() };
  // A fresh realm: no process, require, fetch, setTimeout, setInterval, queueMicrotask, Buffer, and no eval or
  // new Function (CloudFront refuses them too). A check of what the code uses, not a sandbox against hostile code.
  const console = Object.freeze({ log: (...a) => process.stderr.write(`[gate] ${a.join(' ')}\n`) });
  const context = vm.createContext({ console }, { codeGeneration: { strings: false, wasm: false } });
  const names = bindings.map(([name]) => name);
  const wrapper = `(function (${names.join(', ')}) {\n${body}\nreturn handler;\n})`;
  const script = new vm.Script(wrapper, { filename: 'gate.js', lineOffset: -1 });
  const handler = script.runInContext(context, { timeout: 1000 })(...bindings.map(([, m]) => modules[m]));
  const parse = vm.runInContext('JSON.parse', context);
  return {
    // Events go in and results come out as JSON, as they cross CloudFront's boundary (and this realm's).
    async handler(event) {
      const result = await handler(parse(JSON.stringify(event)));
      return JSON.parse(JSON.stringify(result));
    },
  };
}

async function serve() {
  let current = {};
  const gate = loadGate({ kvs: (key) => (Object.hasOwn(current, key) ? current[key] : undefined) });
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  // One request at a time: the store is the request's own.
  for await (const line of lines) {
    if (!line.trim()) continue;
    let id = null;
    try {
      const message = JSON.parse(line);
      id = message.id ?? null;
      current = message.kvs || {};
      process.stdout.write(`${JSON.stringify({ id, result: await gate.handler(message.event) })}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ id, error: String(error && error.message) })}\n`);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--serve')) {
  await serve();
}
