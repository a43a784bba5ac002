// How a families × paths survey opens its connections (client/survey-client.ts openFamilies) and which families the
// CLI asks for (cli/client-families.ts), on fake connections and crafted interface lists.
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { chooseFamilies, familiesOfHost, isLoopbackUrl } from '../../cli/client-families.js';
import type { Connection } from '../../client/connection.js';
import { SurveyError } from '../../client/signaling.js';
import { openFamilies, surveySlots } from '../../client/survey-client.js';
import type { IpFamily } from '../../shared/ip-family.js';

type Slot = { family?: IpFamily; pathIndex: number };

/** A fake opener: fails the slots `fail` names, records every call in order, and which connections were closed. */
function opener(fail: (s: Slot) => SurveyError | null) {
  const calls: { slot: string; planned: number | null }[] = [];
  const closed: string[] = [];
  let inFlight = 0;
  let firstAloneOk = true;
  const open = async (slot: Slot, planned: number | null): Promise<Connection> => {
    const name = `${slot.family}/${slot.pathIndex}`;
    if (calls.length === 1 && inFlight > 0) firstAloneOk = false;
    calls.push({ slot: name, planned });
    inFlight++;
    await Promise.resolve();
    inFlight--;
    const err = fail(slot);
    if (err) throw err;
    return { connId: name, family: slot.family, pathIndex: slot.pathIndex, close: () => closed.push(name) } as unknown as Connection;
  };
  return { open, calls, closed, firstAlone: () => firstAloneOk };
}

describe('openFamilies', () => {
  it('opens the first connection alone, naming the survey width, then the rest', async () => {
    const o = opener(() => null);
    const out = await openFamilies(['ipv4', 'ipv6'], 3, o.open);
    expect(o.calls[0]).toEqual({ slot: 'ipv4/0', planned: 6 });
    expect(o.calls.slice(1).map((c) => c.planned)).toEqual([null, null, null, null, null]);
    expect(o.firstAlone()).toBe(true);
    expect(out.conns.map((c) => c.connId)).toEqual(['ipv4/0', 'ipv4/1', 'ipv4/2', 'ipv6/0', 'ipv6/1', 'ipv6/2']);
    expect(out.unavailable).toEqual([]);
  });

  it('leaves a family out whole when one of its paths fails, closing its others, and keeps the other family', async () => {
    const o = opener((s) => (s.family === 'ipv6' && s.pathIndex === 1 ? new SurveyError('ice_timeout', 'no path') : null));
    const out = await openFamilies(['ipv4', 'ipv6'], 2, o.open);
    expect(out.conns.map((c) => c.connId)).toEqual(['ipv4/0', 'ipv4/1']);
    expect(out.unavailable).toEqual([{ family: 'ipv6', code: 'ice_timeout', reason: '1 of 2 connections failed: no path' }]);
    expect(o.closed).toEqual(['ipv6/0']);
  });

  it('does not open the rest of a family whose first connection failed', async () => {
    const o = opener((s) => (s.family === 'ipv4' ? new SurveyError('family_unavailable', 'no IPv4 address') : null));
    const out = await openFamilies(['ipv4', 'ipv6'], 3, o.open);
    expect(o.calls.map((c) => c.slot)).toEqual(['ipv4/0', 'ipv6/0', 'ipv6/1', 'ipv6/2']);
    expect(out.unavailable).toEqual([{ family: 'ipv4', code: 'family_unavailable', reason: '3 of 3 connections failed: no IPv4 address' }]);
    expect(out.conns).toHaveLength(3);
  });

  it('throws a refusal of the survey at once, opening nothing more', async () => {
    const o = opener(() => new SurveyError('key_limit_reached', 'too wide'));
    await expect(openFamilies(['ipv4', 'ipv6'], 16, o.open)).rejects.toMatchObject({ code: 'key_limit_reached' });
    expect(o.calls).toEqual([{ slot: 'ipv4/0', planned: 32 }]);
  });

  it('throws a refusal met by a later connection, closing those that opened', async () => {
    const o = opener((s) => (s.family === 'ipv6' && s.pathIndex === 1 ? new SurveyError('key_limit_reached', 'full') : null));
    await expect(openFamilies(['ipv4', 'ipv6'], 2, o.open)).rejects.toMatchObject({ code: 'key_limit_reached' });
    expect(o.closed.sort()).toEqual(['ipv4/0', 'ipv4/1', 'ipv6/0']);
  });

  it('fails the survey when no family connects, naming each', async () => {
    const o = opener((s) => new SurveyError('ice_timeout', `${s.family} blocked`));
    await expect(openFamilies(['ipv4', 'ipv6'], 1, o.open)).rejects.toThrow(/ipv4: 1 of 1 connection failed: ipv4 blocked; ipv6: 1 of 1 connection failed: ipv6 blocked/);
  });

  it('lays out slots family by family', () => {
    expect(surveySlots(['ipv6', 'ipv4'], 2)).toEqual([
      { family: 'ipv6', pathIndex: 0 },
      { family: 'ipv6', pathIndex: 1 },
      { family: 'ipv4', pathIndex: 0 },
      { family: 'ipv4', pathIndex: 1 },
    ]);
    expect(surveySlots(undefined, 3)).toEqual([{ pathIndex: 0 }, { pathIndex: 1 }, { pathIndex: 2 }]);
  });
});

const iface = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, internal, family: address.includes(':') ? 'IPv6' : 'IPv4', netmask: '', mac: '', cidr: null }) as unknown as NetworkInterfaceInfo;

describe('the families the CLI measures', () => {
  const dual = { lo: [iface('127.0.0.1', true), iface('::1', true)], eth0: [iface('192.0.2.2'), iface('2001:db8::2'), iface('fe80::1')] };
  const v4only = { lo: [iface('127.0.0.1', true), iface('::1', true)], eth0: [iface('192.0.2.2'), iface('fe80::1')] };

  it('counts addresses that leave the host, loopback only toward a loopback edge, never IPv6 link-local', () => {
    expect(familiesOfHost(false, dual)).toEqual(new Set(['ipv4', 'ipv6']));
    expect(familiesOfHost(false, v4only)).toEqual(new Set(['ipv4']));
    expect(familiesOfHost(true, v4only)).toEqual(new Set(['ipv4', 'ipv6']));
    expect(familiesOfHost(false, { lo: [iface('127.0.0.1', true)] })).toEqual(new Set());
  });

  it('defaults to both where the host has both, and to the unheld survey toward loopback or with one family', () => {
    expect(chooseFamilies(undefined, new Set(['ipv4', 'ipv6']), false)).toEqual({ families: ['ipv4', 'ipv6'], missing: [] });
    expect(chooseFamilies(undefined, new Set(['ipv4']), false)).toEqual({ families: undefined, missing: [] });
    expect(chooseFamilies(undefined, new Set(['ipv4', 'ipv6']), true)).toEqual({ families: undefined, missing: [] });
  });

  it('keeps the asked families the host has and says which it lacks', () => {
    expect(chooseFamilies('both', new Set(['ipv4']), false)).toEqual({ families: ['ipv4'], missing: [{ family: 'ipv6', reason: 'this machine has no IPv6 address to measure from' }] });
    expect(chooseFamilies('v6', new Set(['ipv4', 'ipv6']), false)).toEqual({ families: ['ipv6'], missing: [] });
    expect(chooseFamilies('v4', new Set(['ipv6']), false)).toEqual({ families: [], missing: [{ family: 'ipv4', reason: 'this machine has no IPv4 address to measure from' }] });
  });

  it('knows a loopback edge', () => {
    expect(isLoopbackUrl('http://127.0.0.1:8787')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:8787')).toBe(true);
    expect(isLoopbackUrl('http://localhost:8787')).toBe(true);
    expect(isLoopbackUrl('https://netpoke.example.org')).toBe(false);
  });
});
