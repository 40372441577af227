// The implementation: extends the contract and overrides its methods. Kept apart from
// plugin.ts (which serves it) so that other samples can build on it.
import { Greeting, Modifier, type Person } from './contract';

export class ModifierPlugin extends Modifier {
  override async modify(value: string): Promise<string> {
    return `${value} decorated`;
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
