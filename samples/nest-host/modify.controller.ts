import { BadRequestException, Controller, Get, Query } from '@nestjs/common';
import { Modifier } from '../modifier/contract';

@Controller()
export class ModifyController {
  // The contract class is the injection token: this is the plugin's proxy.
  constructor(private readonly modifier: Modifier) {}

  @Get('modify')
  async modify(@Query('text') text?: string): Promise<{ result: string }> {
    if (typeof text !== 'string') throw new BadRequestException('query parameter text is required');
    return { result: await this.modifier.modify(text) };
  }
}
