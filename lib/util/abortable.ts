/*
 * Waits that an AbortSignal can cut short. They are for slow paths (a restart, a back-off,
 * a plugin that is exiting): each makes a promise and a listener, which the common case of
 * a call never pays for.
 */

/**
 * Waits for a promise, unless the signal fires first.
 *
 * @param promise - what to wait for
 * @param signal - ends the wait with its reason
 * @returns the promise's value; rejects with its error, or with `signal.reason`
 * @internal
 */
export function race<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Waits `ms` milliseconds, unless the signal fires first.
 *
 * @param ms - how long; 0 or less resolves at once
 * @param signal - ends the wait with its reason
 * @returns a promise that resolves after the wait, or rejects with `signal.reason`
 * @internal
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Whether something that settles `exited` when it ends (a started plugin) ends within `ms`.
 *
 * @param ending - what may be ending; `undefined` counts as ended already
 * @param ms - how long to wait at most
 * @returns `true` once `exited` settles, `false` after `ms` without it
 * @internal
 */
export async function exitsWithin(ending: { readonly exited: Promise<unknown> } | undefined, ms: number): Promise<boolean> {
  if (!ending) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  const exited = await Promise.race([ending.exited.then(() => true), timeout]);
  clearTimeout(timer);
  return exited;
}
