import { describe, expect, it } from 'vitest';
import { addressPrefix, plainAddress } from '../../shared/address-prefix.js';

describe('addressPrefix (a client address cut to /24 or /48)', () => {
  it('keeps the first three octets of an IPv4 address', () => {
    expect(addressPrefix('192.0.2.77')).toBe('192.0.2.0/24');
    expect(addressPrefix('10.200.3.1')).toBe('10.200.3.0/24');
    expect(addressPrefix('127.0.0.1')).toBe('127.0.0.0/24');
  });
  it('keeps the first three groups of an IPv6 address', () => {
    expect(addressPrefix('2001:db8:1:2::5')).toBe('2001:db8:1::/48');
    expect(addressPrefix('2001:0db8:00ab:ffff:1:2:3:4')).toBe('2001:db8:ab::/48');
    expect(addressPrefix('fd00:1:2:3:4:5:6:7')).toBe('fd00:1:2::/48');
    expect(addressPrefix('[2001:db8:1::9]')).toBe('2001:db8:1::/48');
    expect(addressPrefix('fe80::1%eth0')).toBe('fe80::/48');
    expect(addressPrefix('2001:db8::1')).toBe('2001:db8::/48');
    expect(addressPrefix('::1')).toBe('::/48');
    expect(addressPrefix('::ffff:192.0.2.1')).toBe('::/48');
  });
  it('refuses what is not an address', () => {
    expect(addressPrefix('999.1.1.1')).toBeNull();
    expect(addressPrefix('1.2.3')).toBeNull();
    expect(addressPrefix('2001:db8::1::2')).toBeNull();
    expect(addressPrefix('2001:db8:zz::1')).toBeNull();
    expect(addressPrefix('1:2:3:4:5:6:7:8:9')).toBeNull();
  });
  it('reads an IPv4-mapped IPv6 address as IPv4', () => {
    expect(plainAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(plainAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(plainAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(plainAddress('[fe80::1%eth0]')).toBe('fe80::1');
    expect(addressPrefix(plainAddress('::ffff:192.0.2.1'))).toBe('192.0.2.0/24');
  });
});
