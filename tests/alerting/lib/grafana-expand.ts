/**
 * Grafana's expansion of provisioning values, as Grafana does it before it validates anything
 * (grafana/grafana pkg/services/provisioning/values/values.go, interpolateValue; contact point settings
 * go through values.JSONValue in pkg/services/provisioning/alerting/contact_point_types.go):
 *   1. the value is split on "$$" (a literal '$'), each part expanded, the parts joined with "$";
 *   2. each part: setting.ExpandVar's `$__env{NAME}` / `$__file{PATH}` expanders, then Go's os.ExpandEnv
 *      (`$NAME`, `${NAME}`; an unset variable is ""; there is no `${NAME:-default}`: that names a
 *      variable called "NAME:-default", which is unset).
 * Grafana's documentation says the same: "$ENV_VAR_NAME or ${ENV_VAR_NAME}; use $$ for a literal $"
 * (administration/provisioning, "Using environment variables").
 */
import { readFileSync } from 'node:fs';

export type Env = Record<string, string | undefined>;

const isAlphaNum = (c: string): boolean => /^[A-Za-z0-9_]$/.test(c);
const isShellSpecial = (c: string): boolean => '*#$@!?-0123456789'.includes(c) && c !== '';

/** Go's os.getShellName: the variable name after a '$' and how many bytes it spans. */
function shellName(s: string): [string, number] {
  if (s[0] === '{') {
    if (s.length > 2 && isShellSpecial(s[1]!) && s[2] === '}') {
      return [s.slice(1, 2), 3];
    }
    for (let i = 1; i < s.length; i++) {
      if (s[i] === '}') {
        return i === 1 ? ['', 2] : [s.slice(1, i), i + 1];
      }
    }
    return ['', 1];
  }
  if (isShellSpecial(s[0]!)) {
    return [s.slice(0, 1), 1];
  }
  let i = 0;
  while (i < s.length && isAlphaNum(s[i]!)) {
    i++;
  }
  return [s.slice(0, i), i];
}

/** Go's os.Expand(s, os.Getenv) over `env`. */
export function goExpandEnv(s: string, env: Env): string {
  let out = '';
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] === '$' && j + 1 < s.length) {
      out += s.slice(i, j);
      const [name, w] = shellName(s.slice(j + 1));
      if (name === '' && w > 0) {
        // invalid syntax: Go eats the characters
      } else if (name === '') {
        out += '$';
      } else {
        out += env[name] ?? '';
      }
      j += w;
      i = j + 1;
    }
  }
  return i === 0 && out === '' ? s : out + s.slice(i);
}

/** setting.ExpandVar: `$__env{NAME}` and `$__file{PATH}` (Vault is not used by Flowlens and is refused). */
function expandVar(s: string, env: Env): string {
  return s.replace(/\$__(\w+)\{([^}]+)\}/g, (_m, kind: string, arg: string) => {
    if (kind === 'env') {
      return env[arg] ?? '';
    }
    if (kind === 'file') {
      return readFileSync(arg, 'utf8').trimEnd();
    }
    throw new Error(`expander $__${kind}{} is not modelled here`);
  });
}

/** interpolateValue: what Grafana reads for one string in a provisioning file. */
export function interpolateValue(value: string, env: Env): string {
  return value
    .split('$$')
    .map((part) => goExpandEnv(expandVar(part, env), env))
    .join('$');
}

/** transformInterface: every string inside maps and lists is interpolated; other scalars stay. */
export function expandDeep<T>(value: T, env: Env): T {
  if (typeof value === 'string') {
    return interpolateValue(value, env) as T;
  }
  if (Array.isArray(value)) {
    return value.map((v) => expandDeep(v, env)) as T;
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandDeep(v, env)])) as T;
  }
  return value;
}
