// What the benchmark sends (bench/run.ts): the echo payloads of three sizes and the
// ten fields of the order. Plain values only: nothing here loads class-validator, so the
// contenders that do not validate do not pay for it.

/** One line of an echo payload: about 65 bytes of JSON. */
export interface EchoItem {
  readonly sku: string;
  readonly qty: number;
  readonly price: number;
  readonly label: string;
}

/** The echo payload: a plain object the plugin sends back unchanged. */
export interface EchoPayload {
  readonly id: number;
  readonly name: string;
  readonly items: readonly EchoItem[];
}

/** The payload sizes the benchmark uses, bytes of JSON. */
export const PAYLOAD_SIZES = { '100 B': 100, '10 KB': 10 * 1024, '1 MB': 1024 * 1024 } as const;
export type PayloadSize = keyof typeof PAYLOAD_SIZES;

/**
 * An echo payload whose JSON is `bytes` long (to the byte for sizes of 90 bytes and more):
 * lines of small records, so that JSON encoding and decoding cost what they cost in real
 * payloads, padded with the name.
 */
export function echoPayload(bytes: number): EchoPayload {
  const items: EchoItem[] = [];
  const empty = Buffer.byteLength(JSON.stringify({ id: 1, name: '', items }));
  // Add lines while they fit, leaving at least ~24 bytes for the name; each line after
  // the first costs its JSON and a comma.
  let size = empty;
  for (let i = 0; ; i++) {
    const item: EchoItem = { sku: `SKU-${String(i).padStart(6, '0')}`, qty: (i % 9) + 1, price: Math.round(((i * 7919) % 100_000) / 10) / 100 + 0.01, label: `item ${i}` };
    const cost = Buffer.byteLength(JSON.stringify(item)) + (i === 0 ? 0 : 1);
    if (i > 0 && size + cost > bytes - 24) break;
    items.push(item);
    size += cost;
    if (size > bytes - 24) break;
  }
  const pad = Math.max(1, bytes - size);
  return { id: 1, name: 'n'.repeat(pad), items };
}

/** The ten fields of the order, as plain data. */
export interface OrderFields {
  id: string;
  customer: string;
  email: string;
  quantity: number;
  unitPrice: number;
  currency: string;
  express: boolean;
  placedAt: string;
  tags: string[];
  note: string;
}

/** A valid order. */
export function orderFields(): OrderFields {
  return {
    id: 'order-000042',
    customer: 'Ada Lovelace',
    email: 'ada@example.com',
    quantity: 3,
    unitPrice: 19.99,
    currency: 'EUR',
    express: true,
    placedAt: '2026-01-15T10:30:00.000Z',
    tags: ['books', 'gift', 'priority'],
    note: 'Leave at the door, please.',
  };
}

/** What every contender answers to an order: its id. */
export function orderAnswer(order: OrderFields): string {
  return order.id;
}

/** One item of the stream scenario: about 60 bytes of JSON. */
export interface StreamItem {
  readonly seq: number;
  readonly text: string;
}

/** Items in each stream of the stream scenario (about 600 KB of NDJSON). */
export const STREAM_ITEMS = 10_000;

/** Item `seq` of a stream: `{"seq":12,"text":"line 0000012 xxx…"}`, 60 to 63 bytes of JSON in a stream of {@link STREAM_ITEMS}. */
export function streamItem(seq: number): StreamItem {
  return { seq, text: `line ${String(seq).padStart(7, '0')} ${ITEM_PAD}` };
}

const ITEM_PAD = 'x'.repeat(28);

/**
 * Checks that a received item is item `seq` of its stream, cheaply (its sequence number
 * only; the warm-up compares whole items): throws otherwise.
 */
export function checkItem(item: unknown, seq: number, who: string): void {
  if ((item as StreamItem | null)?.seq !== seq) throw new Error(`${who}: item ${seq} of the stream is ${JSON.stringify(item)?.slice(0, 120)}`);
}

/**
 * The bodies of the services scenario, sent the same way both ways: by the host to a
 * plugin method, and by that plugin, from inside one of its methods, to a host service.
 */
export const SERVICE_BODIES = {
  /** A short string, like a log line. */
  string: 'a line for the host log',
  /** An object of 1,024 bytes of JSON. */
  '1 KB': echoPayload(1024),
} as const;
export type ServiceBodyName = keyof typeof SERVICE_BODIES;
export type ServiceBody = (typeof SERVICE_BODIES)[ServiceBodyName];

/**
 * The fixed CPU work of the pools scenario: `iterations` rounds of a 32-bit xorshift,
 * answered as the final state (so that the work cannot be optimised away, and the host
 * can check every answer). The same count costs the same CPU however busy the machine is,
 * unlike a loop that waits for an amount of wall time: under contention such a loop would
 * do less work and fake the scaling.
 */
export function cpuWork(iterations: number): number {
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}
