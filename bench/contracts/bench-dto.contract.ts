// The plugwire contract of the benchmark with a class-validator DTO of ten fields,
// validated on the host before sending and in the plugin before the method runs.
import { ArrayMaxSize, IsArray, IsBoolean, IsEmail, IsIn, IsInt, IsISO8601, IsNumber, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { Method, Plugin, stub } from '../../lib';
import type { OrderFields } from '../workloads';

export class BenchOrder implements OrderFields {
  @IsString()
  @Length(1, 64)
  id!: string;

  @IsString()
  @MaxLength(128)
  customer!: string;

  @IsEmail()
  email!: string;

  @IsInt()
  @Min(1)
  @Max(10_000)
  quantity!: number;

  @IsNumber()
  @Min(0)
  unitPrice!: number;

  @IsIn(['EUR', 'USD', 'GBP'])
  currency!: string;

  @IsBoolean()
  express!: boolean;

  @IsISO8601()
  placedAt!: string;

  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  tags!: string[];

  @IsOptional()
  @IsString()
  @MaxLength(500)
  note!: string;
}

@Plugin('bench-dto')
export class BenchDto {
  /** Validates the order on both sides and answers its id. */
  @Method('/order')
  order(order: BenchOrder): Promise<string> {
    return stub(order);
  }
}
