// Which of a survey's paths to look at first (issue 22): the page's path table and the console's mark it.

/** A path's two figures that make it bad: its loss and its RTT p99, each the worse of its two directions. */
export interface PathBadness {
  id: string;
  loss_rate: number;
  rtt_p99_ms: number;
}

/** The worst path: highest loss, then highest RTT p99; null with fewer than two paths or when the top two tie. */
export function worstPath(rows: readonly PathBadness[]): string | null {
  if (rows.length < 2) return null;
  const sorted = [...rows].sort((a, b) => b.loss_rate - a.loss_rate || b.rtt_p99_ms - a.rtt_p99_ms);
  const [first, second] = sorted;
  return first!.loss_rate === second!.loss_rate && first!.rtt_p99_ms === second!.rtt_p99_ms ? null : first!.id;
}
