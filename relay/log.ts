export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** A logger writing one line per event to stderr, at or above `min`. */
export function createLogger(min: LogLevel, name = 'relay'): Logger {
  return (level, msg, fields) => {
    if (RANK[level] < RANK[min]) return;
    const extra = fields ? ' ' + JSON.stringify(fields) : '';
    process.stderr.write(`${new Date().toISOString()} ${name} ${level.toUpperCase()} ${msg}${extra}\n`);
  };
}
