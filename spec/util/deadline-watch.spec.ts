// One timer for many deadlines: entries expire in deadline order, whatever order they
// were added in; removed entries never expire; no timer is left behind.
import { DeadlineWatch, type Expiring } from '../../lib/util/deadline-watch';
import { Link } from '../../lib/util/linked-list';

/** An entry with its link, as Call and the server's CallState make them. */
function expiring(expiresAt: number, expire: () => void): Expiring {
  const e = { expiresAt, expire } as Expiring & { deadlineLink: Link<Expiring> };
  e.deadlineLink = new Link<Expiring>(e);
  return e;
}

function entry(inMs: number, expired: string[], name: string): Expiring & { readonly name: string } {
  return Object.assign(expiring(Date.now() + inMs, () => expired.push(name)), { name });
}

function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => (check() ? resolve() : void setTimeout(poll, 5));
    poll();
  });
}

describe('DeadlineWatch', () => {
  it('expires entries at their deadlines, earliest first, added in any order', async () => {
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    const started = Date.now();
    watch.add(entry(120, expired, 'late'));
    watch.add(entry(40, expired, 'early'));
    watch.add(entry(80, expired, 'middle'));
    // On a busy machine the timer may fire late enough for two deadlines at once: wait for the first, check the order.
    await until(() => expired.length >= 1);
    expect(expired[0]).toBe('early');
    expect(Date.now() - started).toBeGreaterThanOrEqual(39);
    await until(() => expired.length === 3);
    expect(expired).toEqual(['early', 'middle', 'late']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(119);
    expect(watch.size).toBe(0);
  });

  it('never expires an entry that was removed, and keeps the others', async () => {
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    const first = entry(30, expired, 'removed');
    watch.add(first);
    watch.add(entry(60, expired, 'kept'));
    watch.delete(first);
    await until(() => expired.length === 1);
    expect(expired).toEqual(['kept']);
  });

  it('expires a deadline already past at the next turn, and one added from an expire() callback', async () => {
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    watch.add(
      expiring(Date.now() - 5, () => {
        expired.push('past');
        watch.add(entry(20, expired, 'chained'));
      }),
    );
    await until(() => expired.length === 2);
    expect(expired).toEqual(['past', 'chained']);
  });

  it('holds a deadline beyond what one timer can hold without firing early', () => {
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    const far = entry(40 * 24 * 3600 * 1000, expired, 'far');
    watch.add(far);
    expect(expired).toEqual([]);
    watch.delete(far);
  });
});
