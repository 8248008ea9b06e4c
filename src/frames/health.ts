// How lossy a conversation is, and the colour that says so.

/** Typical TCP payload per segment on a 1500-byte MTU; only used when the hub gives no segment count. */
export const ESTIMATED_SEGMENT_BYTES = 1448;

export const HEALTH_COLORS = {
  healthy: '#73BF69',
  degraded: '#FADE2A',
  lossy: '#F2495C',
  idle: '#8E8E8E',
} as const;

/** Below this share of retransmitted segments a link is healthy; at or above `LOSSY_RATIO` it is lossy. */
export const DEGRADED_RATIO = 0.001;
export const LOSSY_RATIO = 0.01;

export interface LossCounters {
  bytes: number;
  retransmits: number;
  /** Data segments sent by both ends, from the hub; absent (older hub) or null (no count) → estimated. */
  segments?: number | null;
}

/** Whether the ratio divides by the hub's own segment count rather than an estimate from bytes. */
export function hasSegmentCount<T extends Pick<LossCounters, 'segments'>>(c: T): c is T & { segments: number } {
  return typeof c.segments === 'number' && Number.isFinite(c.segments);
}

/**
 * Retransmitted segments over data segments sent: the hub's `segments` when it gives them (exact), else
 * segments estimated as bytes / 1448 (a hub before API 1.1, or a range without a count).
 */
export function retransmitRatio(c: LossCounters): number {
  if (c.retransmits <= 0) {
    return 0;
  }
  const segments = hasSegmentCount(c) ? c.segments : c.bytes / ESTIMATED_SEGMENT_BYTES;
  if (segments <= 0) {
    return 1;
  }
  return Math.min(1, c.retransmits / segments);
}

export function healthColor(ratio: number, bytes: number): string {
  if (bytes <= 0 && ratio === 0) {
    return HEALTH_COLORS.idle;
  }
  if (ratio >= LOSSY_RATIO) {
    return HEALTH_COLORS.lossy;
  }
  if (ratio >= DEGRADED_RATIO) {
    return HEALTH_COLORS.degraded;
  }
  return HEALTH_COLORS.healthy;
}

export const MIN_THICKNESS = 1;
export const MAX_THICKNESS = 8;

/** Edge width in pixels: logarithmic in bytes so one elephant flow does not flatten the rest. */
export function edgeThickness(bytes: number, maxBytes: number): number {
  if (bytes <= 0 || maxBytes <= 0) {
    return MIN_THICKNESS;
  }
  const share = Math.log1p(bytes) / Math.log1p(maxBytes);
  return MIN_THICKNESS + (MAX_THICKNESS - MIN_THICKNESS) * Math.min(1, share);
}
