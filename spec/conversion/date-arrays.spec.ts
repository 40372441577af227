// An array of dates (`@IsDate({ each: true }) @Type(() => Date) dates: Date[]`) takes RFC
// 3339 date-times only, as a single Date field does: class-transformer's new Date() takes
// "1", "Dec 25 2020" or a number, and class-validator's IsDate then passes the Date it made.
import { Type } from 'class-transformer';
import { IsDate, ValidateNested } from 'class-validator';
import { Method, Plugin, stub } from '../../lib';
import { convertArgs } from '../../lib/conversion/converter';
import { refusalOf, routeOf } from '../support/conversion-helpers';

class Schedule {
  @IsDate({ each: true })
  @Type(() => Date)
  dates!: Date[];
}

class Plan {
  @ValidateNested()
  @Type(() => Schedule)
  schedule!: Schedule;
}

@Plugin('date-arrays')
class DateArrays {
  @Method('/schedule')
  schedule(schedule: Schedule): Promise<void> {
    return stub(schedule);
  }

  @Method('/plan')
  plan(plan: Plan): Promise<void> {
    return stub(plan);
  }
}

describe('an array of dates', () => {
  it('refuses, item by item, what is not an RFC 3339 date-time', async () => {
    const error = await refusalOf(() => convertArgs(routeOf(DateArrays, '/schedule'), [{ dates: ['1', '2026-12-25T10:00:00Z', 'Dec 25 2020', 5] }], 'plugin'));
    expect(error.violations.map((v) => [v.path, Object.keys(v.constraints)])).toEqual([
      ['dates[0]', ['isDate']],
      ['dates[2]', ['isDate']],
      ['dates[3]', ['isDate']],
    ]);
  });

  it('refuses them in a nested DTO too, at their path', async () => {
    const error = await refusalOf(() => convertArgs(routeOf(DateArrays, '/plan'), [{ schedule: { dates: ['2026-12-25T10:00:00Z', '2026-12-25'] } }], 'plugin'));
    expect(error.violations.map((v) => v.path)).toEqual(['schedule.dates[1]']);
  });

  it('takes RFC 3339 date-times as Dates', () => {
    const [schedule] = convertArgs(routeOf(DateArrays, '/schedule'), [{ dates: ['2026-12-25T10:00:00Z', '2026-12-25T12:00:00.5+02:00'] }], 'plugin') as [Schedule];
    expect(schedule).toBeInstanceOf(Schedule);
    expect(schedule.dates).toEqual([new Date('2026-12-25T10:00:00.000Z'), new Date('2026-12-25T10:00:00.500Z')]);
  });

  it('refuses on the host a Date that JSON cannot write as a date-time (years past 9999), in a field or an array, as a Date parameter is', async () => {
    const far = new Date('2026-01-01T00:00:00Z');
    far.setUTCFullYear(10_000);
    const error = await refusalOf(() => convertArgs(routeOf(DateArrays, '/schedule'), [{ dates: [new Date('2026-12-25T10:00:00Z'), far] }], 'host'));
    expect(error.side).toBe('host');
    expect(error.violations.map((v) => [v.path, v.constraints])).toEqual([['dates[1]', { isDate: 'expected a date of the years 0 to 9999, got the year 10000' }]]);
  });

  it('takes Dates on the host, where the call gives Date objects', () => {
    expect(() => convertArgs(routeOf(DateArrays, '/schedule'), [{ dates: [new Date('2026-12-25T10:00:00Z')] }], 'host')).not.toThrow();
  });
});
