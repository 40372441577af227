// The modifier plugin as a Nest provider: the implementation extends the shared contract
// and gets its own dependencies injected.
import { Injectable } from '@nestjs/common';
import { Greeting, Modifier, type Person } from '../modifier/contract';

/** A dependency of the implementation, to show that injection works inside a plugin. */
@Injectable()
export class Suffix {
  readonly text = ' decorated';
}

@Injectable()
export class ModifierImpl extends Modifier {
  constructor(private readonly suffix: Suffix) {
    super();
  }

  override async modify(value: string): Promise<string> {
    return `${value}${this.suffix.text}`;
  }

  override async greet(person: Person): Promise<Greeting> {
    const greeting = new Greeting();
    greeting.text = `hello ${person.name}${person.address ? ` from ${person.address.city}` : ''}`;
    greeting.length = greeting.text.length;
    return greeting;
  }

  override async join(values: string[], separator: string, times: number): Promise<string> {
    return Array.from({ length: times }, () => values.join(separator)).join(separator);
  }
}
