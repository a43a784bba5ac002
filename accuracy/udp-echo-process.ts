// A bare UDP echo in a process of its own: the far end of the path-base measurement (see path-base.ts).
import * as z from 'zod';
import { startUdpEcho } from '../bench/udp-ping.js';
import { serveRequests } from './ipc.js';

const RequestSchema = z.discriminatedUnion('op', [z.object({ op: z.literal('start') }), z.object({ op: z.literal('close') })]);

let echo: Awaited<ReturnType<typeof startUdpEcho>> | null = null;

serveRequests(
  async (body) => {
    const m = RequestSchema.parse(body);
    if (m.op === 'start') {
      if (echo) throw new Error('already started');
      echo = await startUdpEcho();
      return { port: echo.port };
    }
    echo?.stop();
    echo = null;
    setImmediate(() => process.disconnect());
    return null;
  },
  async () => echo?.stop(),
);
