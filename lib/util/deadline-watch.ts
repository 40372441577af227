import { Link, LinkedList } from './linked-list';

/** Something that must be told when its deadline (epoch ms) passes. @internal */
export interface Expiring {
  readonly expiresAt: number;
  expire(): void;
  /** Its place in a watch; made with it (`new Link(this)`). */
  readonly deadlineLink: Link<Expiring>;
}

/**
 * Watches many deadlines with one timer instead of one timer each: adding and removing an
 * entry relinks it in a list, allocating nothing. The timer is armed for the earliest
 * deadline it knows of; when it fires it expires every entry that is due and arms itself
 * for the earliest left. Calls made with one timeout arrive in deadline order, so in the
 * common case a new entry never re-arms the timer, and an entry that settles costs
 * nothing more. The timer does not keep the process alive: whatever the entry waits for
 * (a socket, a start) does.
 * @internal
 */
export class DeadlineWatch {
  private readonly entries = new LinkedList<Expiring>();
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private readonly onTimer = (): void => this.fire();

  add(entry: Expiring): void {
    this.entries.add(entry.deadlineLink);
    if (entry.expiresAt < this.armedAt) this.arm(entry.expiresAt);
  }

  delete(entry: Expiring): void {
    this.entries.delete(entry.deadlineLink);
  }

  get size(): number {
    return this.entries.size;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.armedAt = at;
    // Beyond what a timer can hold (about 24.8 days) a deadline is as good as none.
    this.timer = setTimeout(this.onTimer, Math.min(MAX_TIMER, Math.max(0, Math.ceil(at - Date.now()))));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    const due: Expiring[] = [];
    for (const entry of this.entries.values()) {
      if (entry.expiresAt <= now) due.push(entry);
      else if (entry.expiresAt < next) next = entry.expiresAt;
    }
    for (const entry of due) {
      this.entries.delete(entry.deadlineLink);
      entry.expire();
    }
    // An entry added by an expire() callback may have armed the timer already.
    if (next < this.armedAt) this.arm(next);
  }
}

const MAX_TIMER = 2 ** 31 - 1;
