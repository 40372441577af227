// Deadlines as Go writes them: RFC 3339 with up to nine fraction digits (more are cut),
// 'Z' or a numeric offset, 't'/'z' accepted; impossible dates refused.
import { formatDeadline, parseDeadline } from '../../lib/protocol/deadline';

describe('parseDeadline', () => {
  it.each([
    ['2026-11-25T12:00:00Z', Date.UTC(2026, 10, 25, 12)],
    ['2026-11-25T12:00:00.5Z', Date.UTC(2026, 10, 25, 12) + 500],
    ['2026-11-25T12:00:00.123456789Z', Date.UTC(2026, 10, 25, 12) + 123.456789],
    ['2026-11-25T12:00:00.1234567891234Z', Date.UTC(2026, 10, 25, 12) + 123.456789],
    ['2026-11-25t12:00:00z', Date.UTC(2026, 10, 25, 12)],
    ['2026-11-25T13:30:00+01:30', Date.UTC(2026, 10, 25, 12)],
    ['2026-11-25T10:00:00-02:00', Date.UTC(2026, 10, 25, 12)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('reads %s', (text, expected) => {
    expect(parseDeadline(text)).toBeCloseTo(expected, 6);
  });

  it('reads the years 0 to 99 as themselves, not as 1900 to 1999', () => {
    const expected = new Date(0);
    expected.setUTCFullYear(50, 0, 2);
    expect(parseDeadline('0050-01-02T00:00:00Z')).toBe(expected.getTime());
    expect(parseDeadline('0000-01-01T00:00:00Z')).toBeLessThan(Date.UTC(1900, 0, 1));
  });

  it.each(['2026-02-29T00:00:00Z', '2026-06-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-25T24:00:00Z', '2026-11-25 12:00:00Z', '2026-11-25T12:00:00', 'soon', ''])(
    'refuses %j',
    (text) => {
      expect(parseDeadline(text)).toBeUndefined();
    },
  );

  it('formats as Go does (trailing zeros trimmed) and reads its own output back', () => {
    const at = Date.UTC(2026, 10, 25, 12, 0, 0, 120);
    expect(formatDeadline(at)).toBe('2026-11-25T12:00:00.12Z');
    expect(parseDeadline(formatDeadline(at))).toBe(at);
    expect(formatDeadline(Date.UTC(2026, 10, 25, 12))).toBe('2026-11-25T12:00:00Z');
  });
});
