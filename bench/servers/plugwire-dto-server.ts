// The plugwire-dto contender's plugin process (bench/contenders/plugwire-dto.ts): the
// ten-field class-validator DTO, validated before the method runs.
import { serve } from '../../lib';
import { BenchDto, type BenchOrder } from '../contracts/bench-dto.contract';

class BenchDtoPlugin extends BenchDto {
  override async order(order: BenchOrder): Promise<string> {
    return order.id;
  }
}

serve(new BenchDtoPlugin()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
