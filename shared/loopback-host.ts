// The names of this machine's loopback interface, as a `Host` header gives them.

/** Whether a `Host` header names loopback (127.0.0.1, localhost or [::1], any port), not a name a DNS-rebinding page could use. */
export function isLoopbackHost(host: string | undefined | null): boolean {
  return /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i.test(host ?? '');
}
