/** What a member publishes under its key in the membership bucket (JSON). */
export interface MemberRecord {
  /** The member's id; also its key in the bucket. */
  readonly workerId: string;
  /** When the member started, ISO-8601 by its own clock. */
  readonly startedAt: string;
  /** When the member wrote this heartbeat, ISO-8601 by its own clock (informational: peers judge staleness by their own clock). */
  readonly heartbeatAt: string;
  /** Free-form details for operators and routing, e.g. `{ httpPort: 8080 }`. */
  readonly info: Readonly<Record<string, unknown>>;
}

/** Parse a bucket value into a {@link MemberRecord}, or undefined when it is not one (foreign or corrupt entries are ignored). */
export function parseMemberRecord(key: string, value: unknown): MemberRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.workerId !== key) return undefined;
  if (typeof v.startedAt !== 'string' || typeof v.heartbeatAt !== 'string') return undefined;
  const info = v.info;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) return undefined;
  return { workerId: key, startedAt: v.startedAt, heartbeatAt: v.heartbeatAt, info: info as Record<string, unknown> };
}
