// The list that keeps the calls in flight: members join and leave through their own
// Link, at most once, and a copy of the members can be gone through while they leave.
import { Link, LinkedList } from '../../lib/util/linked-list';

function links(...names: string[]): Array<Link<string>> {
  return names.map((name) => new Link(name));
}

describe('LinkedList', () => {
  it('adds, deletes and counts members, newest first', () => {
    const list = new LinkedList<string>();
    const [a, b, c] = links('a', 'b', 'c') as [Link<string>, Link<string>, Link<string>];
    list.add(a);
    list.add(b);
    list.add(c);
    expect(list.values()).toEqual(['c', 'b', 'a']);
    list.delete(b);
    expect(list.values()).toEqual(['c', 'a']);
    list.delete(c);
    list.delete(a);
    expect(list.values()).toEqual([]);
    expect(list.size).toBe(0);
  });

  it('ignores a second add, a second delete and a delete of a link of another list', () => {
    const list = new LinkedList<string>();
    const other = new LinkedList<string>();
    const [a, b] = links('a', 'b') as [Link<string>, Link<string>];
    list.add(a);
    list.add(a);
    other.add(b);
    list.add(b); // still in `other`
    list.delete(b);
    expect(list.values()).toEqual(['a']);
    expect(other.values()).toEqual(['b']);
    list.delete(a);
    list.delete(a);
    expect(list.size).toBe(0);
    expect(other.size).toBe(1);
  });

  it('lets a member rejoin after it left', () => {
    const list = new LinkedList<string>();
    const [a, b] = links('a', 'b') as [Link<string>, Link<string>];
    list.add(a);
    list.add(b);
    list.delete(a);
    list.add(a);
    expect(list.values()).toEqual(['a', 'b']);
    expect(list.size).toBe(2);
  });

  it('gives a copy of its members that stays whole while they are deleted', () => {
    const list = new LinkedList<string>();
    const all = links('a', 'b', 'c', 'd');
    for (const link of all) list.add(link);
    const seen: string[] = [];
    for (const value of list.values()) {
      seen.push(value);
      for (const link of all) list.delete(link);
    }
    expect(seen).toEqual(['d', 'c', 'b', 'a']);
    expect(list.size).toBe(0);
  });
});
