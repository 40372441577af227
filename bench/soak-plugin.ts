// The plugin process of the soak run (bench/soak.ts). Environment:
//   SOAK_SPAWN_LOG   append this process's pid to that file at each start
//   SOAK_CHARGE_LOG  append the id of every /charge call that runs to that file
import { appendFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { callContext, serve } from '../lib';
import { Soak, chargeOf, combined, receiptOf, slowAnswer, type SoakCharge, type SoakOrder, type SoakReceipt } from './soak-contract';

const spawnLog = process.env['SOAK_SPAWN_LOG'];
const chargeLog = process.env['SOAK_CHARGE_LOG'];
if (spawnLog) appendFileSync(spawnLog, `${process.pid}\n`);

class SoakPlugin extends Soak {
  override async echo(data: string): Promise<string> {
    return data;
  }

  override async register(order: SoakOrder): Promise<SoakReceipt> {
    return receiptOf(order);
  }

  override async combine(label: string, a: number, b: number, upper: boolean): Promise<string> {
    return combined(label, a, b, upper);
  }

  override async slow(ms: number, tag: string): Promise<string> {
    await delay(ms, undefined, { signal: callContext().signal });
    return slowAnswer(ms, tag);
  }

  override async charge(id: string, amount: number): Promise<SoakCharge> {
    if (chargeLog) appendFileSync(chargeLog, `${id}\n`);
    return chargeOf(id, amount);
  }
}

serve(new SoakPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
