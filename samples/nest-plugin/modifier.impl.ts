// The modifier plugin as a Nest provider: the sample implementation, with a dependency
// injected by Nest.
import { Injectable } from '@nestjs/common';
import { ModifierPlugin } from '../modifier/modifier.plugin';

/** A dependency of the implementation, to show that injection works inside a plugin. */
@Injectable()
export class Suffix {
  readonly text = ' decorated';
}

@Injectable()
export class ModifierImpl extends ModifierPlugin {
  constructor(private readonly suffix: Suffix) {
    super();
  }

  override async modify(value: string): Promise<string> {
    return `${value}${this.suffix.text}`;
  }
}
