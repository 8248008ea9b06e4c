/**
 * Validating a report against the contract (report.ts), fast: the check compiled from `reportV1Schema`
 * (compiled-check.ts) accepts a valid report without zod's parse; a report it refuses goes to zod, whose issues
 * name the field. One definition (the schema), one set of messages (zod's).
 */
import type { ZodIssue } from 'zod';
import { compileCheck } from './compiled-check.js';
import { reportV1Schema, type ReportV1 } from './report.js';

const fastCheck = compileCheck(reportV1Schema);

export type ReportCheck = { success: true; data: ReportV1 } | { success: false; issues: ZodIssue[] };

/**
 * The report, or zod's issues. A valid report comes back as the document itself: fields the contract does not
 * name stay on it unread (zod would have stripped them; nothing downstream reads a field it does not know).
 */
export function checkReport(doc: unknown): ReportCheck {
  if (fastCheck(doc)) {
    return { success: true, data: doc as ReportV1 };
  }
  const parsed = reportV1Schema.safeParse(doc);
  return parsed.success ? { success: true, data: parsed.data } : { success: false, issues: parsed.error.issues };
}
