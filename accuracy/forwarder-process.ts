// Runs the forwarder in a process of its own, so the relay's and the client's work cannot delay it: its log is then the truth.
import { setPriority } from 'node:os';
import { startForwarder, type Forwarder } from './forwarder.js';
import { ForwarderRequestSchema } from './forwarder-messages.js';
import { serveRequests } from './ipc.js';

// The forwarder is the instrument of truth: on a shared machine it is scheduled ahead of the system under test,
// so its own unlogged wake-ups stay small. Raising priority needs root (CI runs as root); elsewhere it runs as is.
try {
  setPriority(-10);
} catch {
  // Not permitted: the forwarder still works, only with the machine's ordinary scheduling.
}

let fwd: Forwarder | null = null;

serveRequests(
  async (body) => {
    const m = ForwarderRequestSchema.parse(body);
    if (m.op === 'start') {
      if (fwd) throw new Error('already started');
      fwd = await startForwarder(m.config);
      return { port: fwd.address.port, ...(fwd.loadAddress ? { loadPort: fwd.loadAddress.port } : {}) };
    }
    if (!fwd) throw new Error('not started');
    if (m.op === 'arm') return fwd.arm(m.on);
    if (m.op === 'log') return fwd.log();
    await fwd.close();
    setImmediate(() => process.disconnect());
    return null;
  },
  async () => void (await fwd?.close()),
);
