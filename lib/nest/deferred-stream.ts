/**
 * A stream whose plugin is not started yet: its first `next()` waits for `open()` (the
 * start, then the plugin's stream), and from then on it is that stream. A start that fails
 * is that `next()`'s rejection, so `for await` handles it; `return()` before the stream
 * was opened ends it without opening it.
 * @internal
 */
export function deferredStream(open: () => Promise<AsyncIterableIterator<unknown>>): AsyncIterableIterator<unknown> {
  let opening: Promise<AsyncIterableIterator<unknown>> | undefined;
  let ended = false;
  const done = (value?: unknown): IteratorResult<unknown> => ({ done: true, value });
  const iterator: AsyncIterableIterator<unknown> = {
    [Symbol.asyncIterator]: () => iterator,
    next: async () => {
      if (ended) return done();
      const stream = await (opening ??= open());
      // Returned while the plugin started: the stream is ended, not begun.
      if (ended) {
        await stream.return?.();
        return done();
      }
      return stream.next();
    },
    return: async (value?: unknown) => {
      ended = true;
      const stream = await opening?.catch(() => undefined);
      await stream?.return?.();
      return done(value);
    },
  };
  return iterator;
}
