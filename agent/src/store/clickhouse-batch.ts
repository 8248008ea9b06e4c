/**
 * Membership lookups gathered into one query per event-loop turn: the ClickHouse store's `hasReport`. Every
 * report the hub receives asks "stored already?"; asked one by one that was one HTTP request per report (as many
 * as the inserts themselves). Ids asked within one turn of the event loop (a burst of reports parsed together)
 * go out as one `IN` query, at most `maxKeys` ids a query. Each caller still gets the answer for its own id, and
 * a failed query fails exactly the callers whose ids it carried.
 */
export class BatchedLookup {
  private waiting: Map<string, Array<{ resolve: (v: boolean) => void; reject: (e: unknown) => void }>> | undefined;

  constructor(
    /** The ids among `keys` that are present (one query). */
    private readonly fetch: (keys: string[]) => Promise<Set<string>>,
    private readonly maxKeys = 1000
  ) {}

  has(key: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      if (this.waiting === undefined) {
        this.waiting = new Map();
        // After the I/O callbacks of this turn: requests read in the same turn share the query.
        setImmediate(() => this.flush());
      }
      let callers = this.waiting.get(key);
      if (callers === undefined) {
        callers = [];
        this.waiting.set(key, callers);
      }
      callers.push({ resolve, reject });
    });
  }

  private flush(): void {
    const waiting = this.waiting!;
    this.waiting = undefined;
    const keys = [...waiting.keys()];
    for (let i = 0; i < keys.length; i += this.maxKeys) {
      const chunk = keys.slice(i, i + this.maxKeys);
      this.fetch(chunk).then(
        (present) => {
          for (const k of chunk) {
            for (const c of waiting.get(k)!) {
              c.resolve(present.has(k));
            }
          }
        },
        (err: unknown) => {
          for (const k of chunk) {
            for (const c of waiting.get(k)!) {
              c.reject(err);
            }
          }
        }
      );
    }
  }
}
