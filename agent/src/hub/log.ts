/** One JSON object per line on stderr. Callers never pass tokens or Authorization headers. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export function log(level: 'info' | 'warn' | 'error', msg: string, fields: LogFields = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}
