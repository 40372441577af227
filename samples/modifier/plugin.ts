// The plugin executable: a host starts it with PLUGIN_SOCKET set.
import { serve } from 'plugwire';
import { Greeting, Modifier, type Person } from './contract';

class ModifierPlugin extends Modifier {
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

serve(new ModifierPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
