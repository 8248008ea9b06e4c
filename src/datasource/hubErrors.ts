// Turns whatever the data proxy or the hub answered into one sentence a Grafana user can act on.

interface FetchErrorLike {
  status?: number;
  statusText?: string;
  data?: unknown;
  message?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** The explanation inside an error body: the hub's `{error}`, Grafana's `{message}`, or plain text. */
export function bodyMessage(data: unknown): string | undefined {
  if (typeof data === 'string') {
    const text = data.trim();
    return text.length > 0 ? text.slice(0, 300) : undefined;
  }
  if (isObject(data)) {
    for (const key of ['error', 'message', 'detail']) {
      const v = data[key];
      if (typeof v === 'string' && v.trim() !== '') {
        return v.trim();
      }
      if (isObject(v) && typeof v.message === 'string') {
        return v.message;
      }
    }
  }
  return undefined;
}

export function hubErrorMessage(err: unknown, what: string): string {
  const e: FetchErrorLike = isObject(err) ? (err as FetchErrorLike) : { message: String(err) };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const detail = bodyMessage(e.data) ?? e.message ?? e.statusText;
  const suffix = detail ? `: ${detail}` : '';
  if (status === undefined || status === 0) {
    return `Flowlens hub unreachable while ${what}${suffix}. Check that Grafana can reach the hub URL.`;
  }
  if (status === 502 || status === 504) {
    return (
      `Flowlens hub unreachable while ${what} (HTTP ${status}${suffix}). ` +
      'Check the hub URL in the datasource settings and that the hub is running.'
    );
  }
  if (status === 401 || status === 403) {
    return `Flowlens hub refused the query token while ${what} (HTTP ${status}${suffix}). Check the query token in the datasource settings.`;
  }
  if (status === 404) {
    return `Flowlens hub has no such endpoint while ${what} (HTTP 404${suffix}). Is the hub URL the hub's base URL, and is the hub v1?`;
  }
  return `Flowlens hub error while ${what} (HTTP ${status}${suffix}).`;
}

export class HubError extends Error {
  constructor(
    message: string,
    readonly status?: number
  ) {
    super(message);
    this.name = 'HubError';
  }
}
