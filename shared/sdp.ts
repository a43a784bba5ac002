/** An SDP without its candidate lines; `a=end-of-candidates` stays, so the reader knows none will follow. */
export function withoutCandidates(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('a=candidate:'))
    .join('\r\n');
}
