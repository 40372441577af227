// The contract: the one module that host and plugin share.
import { Type } from 'class-transformer';
import { IsEmail, IsInt, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { Method, Plugin, stub } from 'plugwire';

export class Address {
  @IsString()
  @Length(1, 100)
  city!: string;
}

/** A validated DTO: checked on the host before it is sent, and again in the plugin. */
export class Person {
  @IsString()
  @Length(1, 50)
  name!: string;

  @IsInt()
  @Min(0)
  @Max(150)
  age!: number;

  @IsOptional()
  @IsEmail()
  email?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => Address)
  address?: Address;
}

export class Greeting {
  @IsString()
  text!: string;

  @IsInt()
  length!: number;

  shout(): string {
    return this.text.toUpperCase();
  }
}

@Plugin('modifier')
export class Modifier {
  /** Appends " decorated" to the value. */
  @Method('/modify')
  modify(value: string): Promise<string> {
    return stub(value);
  }

  /** A validated DTO in, a class out: the host receives a real `Greeting`. */
  @Method('/greet', { returns: Greeting })
  greet(person: Person): Promise<Greeting> {
    return stub(person);
  }

  /** Several parameters travel as a JSON array. */
  @Method('/join')
  join(values: string[], separator: string, times: number): Promise<string> {
    return stub(values, separator, times);
  }
}
