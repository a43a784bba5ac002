// A bare data-channel echo in a process of its own: the far end of the path-base measurement (see path-base.ts).
import * as z from 'zod';
import { startDcEcho } from './dc-ping.js';
import { serveRequests } from './ipc.js';

const RequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('start') }),
  z.object({ op: z.literal('accept'), sdp: z.string().min(1) }),
  z.object({ op: z.literal('close') }),
]);

let echo: Awaited<ReturnType<typeof startDcEcho>> | null = null;

serveRequests(
  async (body) => {
    const m = RequestSchema.parse(body);
    if (m.op === 'start') {
      if (echo) throw new Error('already started');
      echo = await startDcEcho();
      return { offer: echo.offer };
    }
    if (m.op === 'accept') {
      if (!echo) throw new Error('not started');
      echo.accept(m.sdp);
      return null;
    }
    echo?.stop();
    echo = null;
    setImmediate(() => process.disconnect());
    return null;
  },
  async () => echo?.stop(),
);
