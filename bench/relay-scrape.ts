// Reads a relay's Prometheus /metrics (its ops port): what the capacity bench takes from the relay process itself.
import { z } from 'zod';

/** The figures of one scrape, and when it was taken (epoch ms, the middle of the request). */
export interface RelayScrape {
  at: number;
  cpuSeconds: number;
  rssBytes: number;
  /** Event-loop lag p99 since the previous scrape (the relay resets it at each scrape). */
  lagP99Seconds: number;
  /** Probes the relay sent (s2c), live sessions and closed ones. */
  probesSent: number;
  /** Client probes (c2s) over the relay's closed windows: received, lost, settled. */
  c2sReceived: number;
  c2sLost: number;
  c2sExpected: number;
  captureHeldBytes: number;
  /** Sessions with their probe streams running. */
  streaming: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

/** Parses Prometheus text exposition into `name{labels}` → value (labels as written by the exporter). */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

const Finite = z.number().finite();

/** The figures the bench needs from one exposition; throws when one is missing (the relay changed its metric names). */
export function relayFigures(samples: Map<string, number>, at: number): RelayScrape {
  const get = (key: string) => Finite.parse(samples.get(key), { error: () => `relay /metrics has no ${key}` });
  return {
    at,
    cpuSeconds: get('process_cpu_seconds_total'),
    rssBytes: get('process_resident_memory_bytes'),
    lagP99Seconds: get('netpoke_relay_event_loop_lag_seconds{stat="p99"}'),
    probesSent: get('netpoke_relay_probes_sent_total'),
    c2sReceived: get('netpoke_relay_probes_received_total'),
    c2sLost: get('netpoke_relay_probes_lost_total'),
    c2sExpected: get('netpoke_relay_probes_expected_total'),
    captureHeldBytes: get('netpoke_relay_capture_held_bytes'),
    streaming: get('netpoke_relay_sessions{state="streaming"}'),
  };
}

/** Scrapes `metricsUrl`/metrics once: the ops port as is, the internal API with its METRICS_TOKEN as `token`. */
export async function scrapeRelay(metricsUrl: string, token?: string): Promise<RelayScrape> {
  const sent = Date.now();
  const resp = await fetch(`${metricsUrl}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (!resp.ok) throw new Error(`relay /metrics answered ${resp.status}`);
  const text = await resp.text();
  return relayFigures(parsePrometheus(text), (sent + Date.now()) / 2);
}

/** Several relay processes' scrapes taken together as one relay: counts and memory summed, the worst lag, the mean instant. */
export function combineScrapes(scrapes: readonly RelayScrape[]): RelayScrape {
  if (scrapes.length === 0) throw new Error('no scrape to combine');
  const sum = (f: (s: RelayScrape) => number) => scrapes.reduce((n, s) => n + f(s), 0);
  return {
    at: sum((s) => s.at) / scrapes.length,
    cpuSeconds: sum((s) => s.cpuSeconds),
    rssBytes: sum((s) => s.rssBytes),
    lagP99Seconds: Math.max(...scrapes.map((s) => s.lagP99Seconds)),
    probesSent: sum((s) => s.probesSent),
    c2sReceived: sum((s) => s.c2sReceived),
    c2sLost: sum((s) => s.c2sLost),
    c2sExpected: sum((s) => s.c2sExpected),
    captureHeldBytes: sum((s) => s.captureHeldBytes),
    streaming: sum((s) => s.streaming),
  };
}
