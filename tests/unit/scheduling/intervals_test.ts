import assert from "node:assert/strict";
import {
  clip,
  firstEndingAfter,
  indexContaining,
  mergeSorted,
  normalize,
  subtract,
  unionOfBounds,
} from "../../../supabase/functions/_shared/scheduling/intervals.ts";

const iv = (start: number, end: number) => ({ start, end });

Deno.test("normalize merges overlapping and nested intervals (09–12 + 10–11 stays 09–12)", () => {
  assert.deepEqual(normalize([iv(10, 11), iv(9, 12)]), [iv(9, 12)]);
  // The Tuturuuu bug: 11:00–17:00 must NOT be free.
  const free = subtract([iv(9, 17)], normalize([iv(9, 12), iv(10, 11)]));
  assert.deepEqual(free, [iv(12, 17)]);
});

Deno.test("normalize merges adjacent half-open intervals and drops empty/invalid ones", () => {
  assert.deepEqual(normalize([iv(3, 4), iv(1, 2), iv(2, 3), iv(5, 5), iv(7, 6), iv(NaN, 9)]), [
    iv(1, 4),
  ]);
  assert.deepEqual(normalize([iv(1, 2), iv(3, 4)]), [iv(1, 2), iv(3, 4)]);
});

Deno.test("normalize does not mutate input; mergeSorted works on sorted input", () => {
  const input = [iv(5, 8), iv(1, 6)];
  normalize(input);
  assert.deepEqual(input, [iv(5, 8), iv(1, 6)]);
  assert.deepEqual(mergeSorted([iv(1, 3), iv(2, 5), iv(6, 7)]), [iv(1, 5), iv(6, 7)]);
});

Deno.test("subtract: one sweep, all overlap shapes", () => {
  const a = [iv(0, 10), iv(20, 30), iv(40, 50)];
  const b = [iv(-5, 2), iv(4, 6), iv(8, 22), iv(25, 26), iv(29, 41), iv(45, 60)];
  assert.deepEqual(subtract(a, b), [iv(2, 4), iv(6, 8), iv(22, 25), iv(26, 29), iv(41, 45)]);
  assert.deepEqual(subtract(a, []), a);
  assert.deepEqual(subtract([], b), []);
  assert.deepEqual(subtract([iv(0, 10)], [iv(0, 10)]), []);
  // touching subtrahends do not cut
  assert.deepEqual(subtract([iv(10, 20)], [iv(0, 10), iv(20, 30)]), [iv(10, 20)]);
  // one subtrahend spanning several minuends
  assert.deepEqual(subtract([iv(0, 5), iv(6, 8), iv(9, 12)], [iv(1, 10)]), [iv(0, 1), iv(10, 12)]);
});

Deno.test("clip and lookups", () => {
  assert.deepEqual(clip([iv(0, 5), iv(6, 10), iv(12, 15)], 3, 13), [
    iv(3, 5),
    iv(6, 10),
    iv(12, 13),
  ]);
  const list = [iv(0, 5), iv(10, 15)];
  assert.equal(firstEndingAfter(list, 5), 1);
  assert.equal(firstEndingAfter(list, 4), 0);
  assert.equal(firstEndingAfter(list, 15), 2);
  assert.equal(indexContaining(list, iv(10, 15)), 1);
  assert.equal(indexContaining(list, iv(4, 11)), -1);
});

Deno.test("unionOfBounds equals normalize (touching merged, nested absorbed)", () => {
  const ivs = [iv(10, 20), iv(0, 5), iv(5, 7), iv(12, 14), iv(30, 31), iv(19, 25), iv(40, 50)];
  const got = unionOfBounds(
    Float64Array.from(ivs.map((x) => x.start)),
    Float64Array.from(ivs.map((x) => x.end)),
  );
  assert.deepEqual(got, normalize(ivs));
  assert.deepEqual(got, [iv(0, 7), iv(10, 25), iv(30, 31), iv(40, 50)]);
  assert.deepEqual(unionOfBounds(new Float64Array(0), new Float64Array(0)), []);
  // pseudo-random cross-check
  let x = 12345;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let k = 0; k < 200; k++) {
    const list = Array.from({ length: 30 }, () => {
      const s = Math.floor(rnd() * 100);
      return iv(s, s + 1 + Math.floor(rnd() * 10));
    });
    const u = unionOfBounds(
      Float64Array.from(list.map((y) => y.start)),
      Float64Array.from(list.map((y) => y.end)),
    );
    assert.deepEqual(u, normalize(list));
  }
});
