// The contract of the soak run (bench/soak.ts) and its plugin (bench/soak-plugin.ts).
// Every answer is a pure function of the call's input, written out here once: the
// plugin answers with these functions, the soak checks every answer against them.
import { createHash } from 'node:crypto';
import { ArrayMaxSize, IsArray, IsInt, IsString, Length, Max, Min } from 'class-validator';
import { Method, Plugin, stub } from '../lib';

/** A validated DTO: checked on the host before sending, and in the plugin before the method runs. */
export class SoakOrder {
  @IsString()
  @Length(1, 64)
  id!: string;

  @IsInt()
  @Min(1)
  @Max(1000)
  quantity!: number;

  @IsInt()
  @Min(0)
  @Max(1_000_000)
  unitPrice!: number;

  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  tags!: string[];
}

/** The answer of `/register`; the host receives a real instance. */
export class SoakReceipt {
  @IsString()
  id!: string;

  @IsInt()
  total!: number;

  @IsString()
  tags!: string;
}

/** The answer of `/charge`. */
export interface SoakCharge {
  readonly id: string;
  readonly doubled: number;
  readonly digest: string;
}

@Plugin('soak')
export class Soak {
  /** Returns its argument unchanged (the soak sends 100 B to ~256 KB). */
  @Method('/echo')
  echo(data: string): Promise<string> {
    return stub(data);
  }

  /** A validated DTO in, a class out: {@link receiptOf}. */
  @Method('/register', { returns: SoakReceipt })
  register(order: SoakOrder): Promise<SoakReceipt> {
    return stub(order);
  }

  /** Several parameters, sent as a JSON array: {@link combined}. */
  @Method('/combine')
  combine(label: string, a: number, b: number, upper: boolean): Promise<string> {
    return stub(label, a, b, upper);
  }

  /** Waits `ms` (giving up when the call's signal fires), then answers {@link slowAnswer}. */
  @Method('/slow')
  slow(ms: number, tag: string): Promise<string> {
    return stub(ms, tag);
  }

  /** Must not run twice for one call: the plugin logs each run. Answers {@link chargeOf}. */
  @Method('/charge', { idempotent: false })
  charge(id: string, amount: number): Promise<SoakCharge> {
    return stub(id, amount);
  }
}

/** What `/register` answers for an order. */
export function receiptOf(order: SoakOrder): SoakReceipt {
  const receipt = new SoakReceipt();
  receipt.id = order.id;
  receipt.total = order.quantity * order.unitPrice;
  receipt.tags = order.tags.join(',');
  return receipt;
}

/** What `/combine` answers. */
export function combined(label: string, a: number, b: number, upper: boolean): string {
  return `${upper ? label.toUpperCase() : label}:${a + b}:${a * b}`;
}

/** What `/slow` answers. */
export function slowAnswer(ms: number, tag: string): string {
  return `slow:${tag}:${ms}`;
}

/** What `/charge` answers. */
export function chargeOf(id: string, amount: number): SoakCharge {
  return { id, doubled: amount * 2, digest: createHash('sha256').update(`${id}:${amount}`).digest('hex').slice(0, 16) };
}
