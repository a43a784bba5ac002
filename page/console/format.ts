// Times and durations as people read them.

/** A moment (ms since epoch) in the reader's locale, or `none` when there is none. */
export function when(ms: number | null, none = '—'): string {
  if (ms === null) return none;
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A length of time: "45 s", "10 min", "2 h 30 min", "3 days". */
export function duration(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  return `${Math.round(h / 24)} days`;
}
