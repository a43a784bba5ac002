// Debian's Chromium as .ci/run installs it, with the flags WebRTC on loopback needs in a headless container.

export const CHROMIUM = '/usr/bin/chromium';

/** Flags for WebRTC on loopback in a headless container (the relay and TURN server listen on 127.0.0.1). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--allow-loopback-in-peer-connection',
  // One --disable-features argument only: a second one silently replaces the first.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];
