/**
 * The one listener fan-out of usbms (disconnect, trace and simulator events): listeners are called
 * synchronously in the order they were added, over a snapshot (a listener may remove itself or others),
 * and a listener that throws neither stops the others nor reaches the code that emitted the event.
 */
export class Listeners<Args extends unknown[] = []> {
  readonly #set = new Set<(...args: Args) => void>();

  /** Adds a listener; returns the function that removes it. */
  add(listener: (...args: Args) => void): () => void {
    this.#set.add(listener);
    return () => {
      this.#set.delete(listener);
    };
  }

  /** True while `listener` is subscribed. */
  has(listener: (...args: Args) => void): boolean {
    return this.#set.has(listener);
  }

  /** How many listeners are subscribed. */
  get size(): number {
    return this.#set.size;
  }

  /** Calls every listener with `args`; exceptions are swallowed (a listener's bug must not break a command). */
  emit(...args: Args): void {
    for (const listener of [...this.#set]) {
      try {
        listener(...args);
      } catch {
        // Isolated on purpose: see the class comment.
      }
    }
  }
}
