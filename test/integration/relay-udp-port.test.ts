// The relay owns its UDP port from start to close, with or without peers; a port already taken fails the start in words.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayHandle } from '../../relay/relay.js';
import { freeUdpPort, startTestDb, startTestRelay, type TestDb } from '../helpers/system.js';

/** Binds `port` on every address; resolves with the socket, or with the bind error's code. */
function bindUdp(port: number): Promise<Socket | string> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? String(e)));
    sock.bind(port, '0.0.0.0', () => resolve(sock));
  });
}

let db: TestDb | null = null;
let relay: RelayHandle | null = null;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await relay?.close();
  relay = null;
  await db?.close();
  db = null;
});

describe('relay UDP port', () => {
  it('is bound while the relay runs, before any peer and after the last, and free once it closes', async () => {
    db = await startTestDb();
    const udpPort = await freeUdpPort();
    relay = await startTestRelay(db, { udpPort });
    expect(relay.activePeers()).toBe(0);
    // Without the hold, libjuice bound the port only while a peer existed: anyone could take it in between.
    expect(await bindUdp(udpPort)).toBe('EADDRINUSE');
    await relay.close();
    relay = null;
    const after = await bindUdp(udpPort);
    expect(typeof after).not.toBe('string');
    sockets.push(after as Socket);
  });

  it('a port another process holds fails the relay start with a sentence naming it', async () => {
    db = await startTestDb();
    const udpPort = await freeUdpPort();
    const squatter = await bindUdp(udpPort);
    expect(typeof squatter).not.toBe('string');
    sockets.push(squatter as Socket);
    const err = await startTestRelay(db, { udpPort }).then(
      (r) => {
        relay = r;
        return null;
      },
      (e: Error) => e,
    );
    expect(err?.message).toMatch(new RegExp(`cannot bind the relay's UDP port 127\\.0\\.0\\.1:${udpPort} \\(RELAY_UDP_PORT\\)`));
  });
});
