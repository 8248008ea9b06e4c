// How a template variable's value becomes a hub filter. The hub filters on one namespace or workload:
// a single value is used as is; "All" (or several values) means no filter, sent as the `*` sentinel.

export const ALL_SENTINEL = '*';

export function formatFilterValue(value: unknown): string {
  if (Array.isArray(value)) {
    return value.length === 1 ? String(value[0]) : ALL_SENTINEL;
  }
  return value === undefined || value === null ? '' : String(value);
}
