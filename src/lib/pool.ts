// Bounded concurrency: many async jobs (gateway calls, webhook POSTs, e-mails), at most `limit` in
// flight at once, so a batch of 300 renewals neither runs one by one nor opens 300 sockets.

/**
 * Runs fn over every item with at most `limit` calls in flight; results in the items' order.
 * Every job runs and settles even when one fails (claimed work is carried through, not abandoned
 * half-way); then the first failure is thrown.
 */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let failure: { error: unknown } | null = null;
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, Math.trunc(limit)), items.length) }, lane));
  if (failure) throw (failure as { error: unknown }).error;
  return results;
}
