// Runs the forwarder in a process of its own, so the relay's and the client's work cannot delay it: its log is then the truth.
import { startForwarder, type Forwarder } from './forwarder.js';
import { ForwarderRequestSchema, type ForwarderReply } from './forwarder-messages.js';

let fwd: Forwarder | null = null;
const reply = (r: ForwarderReply) => process.send?.(r);

process.on('message', (raw) => {
  const parsed = ForwarderRequestSchema.safeParse(raw);
  if (!parsed.success) return reply({ id: -1, error: `bad request: ${parsed.error.message}` });
  const m = parsed.data;
  void (async () => {
    try {
      if (m.op === 'start') {
        if (fwd) throw new Error('already started');
        fwd = await startForwarder(m.config);
        reply({ id: m.id, port: fwd.address.port });
      } else if (!fwd) {
        throw new Error('not started');
      } else if (m.op === 'arm') {
        fwd.arm(m.on);
        reply({ id: m.id });
      } else if (m.op === 'log') {
        reply({ id: m.id, log: fwd.log() });
      } else {
        await fwd.close();
        reply({ id: m.id });
        process.disconnect();
      }
    } catch (e) {
      reply({ id: m.id, error: String((e as Error).message ?? e) });
    }
  })();
});

// The harness went away: nothing is left listening.
process.on('disconnect', () => void fwd?.close().finally(() => process.exit(0)));
