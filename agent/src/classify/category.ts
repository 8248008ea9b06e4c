/**
 * The NFM flow categories. AWS-service traffic is recognised by address (ip-ranges.json);
 * traffic between two ends whose availability zones are both known is intra- or inter-AZ;
 * everything else (internet, on-premises, ends without a known zone) is UNCLASSIFIED.
 */
import type { IpRanges } from './ip-ranges.js';

export const CATEGORIES = ['INTRA_AZ', 'INTER_AZ', 'AMAZON_S3', 'AMAZON_DYNAMODB', 'UNCLASSIFIED'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Stable small codes for storage; never reorder (stored data depends on them). */
export const CATEGORY_CODE: Record<Category, number> = {
  INTRA_AZ: 0,
  INTER_AZ: 1,
  AMAZON_S3: 2,
  AMAZON_DYNAMODB: 3,
  UNCLASSIFIED: 4,
};

export function categoryFromCode(code: number): Category {
  return CATEGORIES[code] ?? 'UNCLASSIFIED';
}

export function isCategory(s: string): s is Category {
  return (CATEGORIES as readonly string[]).includes(s);
}

const SERVICE_CATEGORY: Record<string, Category> = { S3: 'AMAZON_S3', DYNAMODB: 'AMAZON_DYNAMODB' };

export interface CategorizedEnd {
  ip: string;
  /** Availability zone when the end is a known node or pod; null otherwise. */
  zone: string | null;
}

/** Classifies one flow from its two ends. The order of the ends does not matter. */
export function categorize(a: CategorizedEnd, b: CategorizedEnd, ranges: IpRanges): Category {
  for (const end of [b, a]) {
    const match = ranges.lookup(end.ip);
    const category = match ? SERVICE_CATEGORY[match.service] : undefined;
    if (category) {
      return category;
    }
  }
  if (a.zone !== null && b.zone !== null) {
    return a.zone === b.zone ? 'INTRA_AZ' : 'INTER_AZ';
  }
  return 'UNCLASSIFIED';
}

/**
 * How one flow's category is decided from its rows (both ends, every window), once, after its ends are
 * merged: the first category in this list that any row has. An address-based category (S3, DynamoDB) is the
 * same for every row; a zone-based one beats UNCLASSIFIED, which only means one end's zone was not known when
 * that row arrived (metadata lag). Between INTER_AZ and INTRA_AZ (a node re-labelled mid-range) the costlier
 * one is shown. The SQL twin is `mergedCategorySql`.
 */
export const CATEGORY_PRECEDENCE: readonly Category[] = [
  'AMAZON_S3',
  'AMAZON_DYNAMODB',
  'INTER_AZ',
  'INTRA_AZ',
  'UNCLASSIFIED',
];

export function mergeCategories(categories: Iterable<Category>): Category {
  let best = CATEGORY_PRECEDENCE.length - 1;
  for (const c of categories) {
    best = Math.min(best, CATEGORY_PRECEDENCE.indexOf(c));
  }
  return CATEGORY_PRECEDENCE[best]!;
}

/**
 * `mergeCategories` as a SQL aggregate over a column of CATEGORY_CODEs (NULLs ignored): the smallest precedence
 * rank, mapped back to its code. Plain CASE expressions, which every SQL engine vectorises cheaply.
 */
export function mergedCategorySql(column = 'category'): string {
  const rank = CATEGORY_PRECEDENCE.map((c, i) => `WHEN ${CATEGORY_CODE[c]} THEN ${i}`).join(' ');
  const back = CATEGORY_PRECEDENCE.map((c, i) => `WHEN ${i} THEN ${CATEGORY_CODE[c]}`).join(' ');
  const last = CATEGORY_CODE[CATEGORY_PRECEDENCE[CATEGORY_PRECEDENCE.length - 1]!];
  return `(CASE min(CASE ${column} ${rank} END) ${back} ELSE ${last} END)`;
}
