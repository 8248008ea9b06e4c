/**
 * The one string order the node agent sorts by: UTF-16 code units (what `<` compares), not `localeCompare`.
 *
 * These sorts only need an order that is the same every time (a tie-break between equal flows, pod ports by name).
 * `localeCompare` gives a linguistic one through ICU: its first call maps ICU's collation data out of the node
 * binary and builds a collator, about 4.4 MB more resident memory for the agent's whole life (3.8 MB of it file
 * pages of ICU data; see docs/agent.md, Memory), and each call costs more than a plain comparison.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
