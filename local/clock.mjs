// Preloaded (node --import) into edge/harness.mjs by the local stack when MAGICLINK_LOCAL_CLOCK is set: the
// gate's Date.now() runs ahead by the offset (milliseconds) in MAGICLINK_CLOCK_FILE, which POST /_local/clock
// moves together with the service's clock. The harness runs the gate in a fresh vm realm, whose Date is its
// own: each context it creates gets the shifted Date.now.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const file = process.env.MAGICLINK_CLOCK_FILE;
const offset = () => Number(readFileSync(file, 'utf8')) || 0;
const createContext = vm.createContext;

vm.createContext = (sandbox = {}, options) => {
  const context = createContext(sandbox, options);
  Object.defineProperty(sandbox, '__localClockOffset', { value: offset });
  vm.runInContext(
    '(() => { const now = Date.now; Date.now = () => now() + __localClockOffset(); })();',
    context,
  );
  return context;
};
