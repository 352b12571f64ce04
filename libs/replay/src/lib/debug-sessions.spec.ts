import type { RangeRecord } from './range';
import { takeInTimeOrder } from './debug-sessions';

const rec = (partition: number, offset: number, timestamp: number): RangeRecord => ({
  topic: 't',
  partition,
  offset: String(offset),
  timestamp,
  key: null,
  value: null,
  headers: {},
});

describe('takeInTimeOrder', () => {
  const runs = () =>
    new Map([
      [0, [rec(0, 1, 10), rec(0, 2, 40), rec(0, 3, 20)]],
      [1, [rec(1, 7, 15), rec(1, 8, 30)]],
    ]);

  it('takes the earliest head first, so each partition is consumed as a prefix even when its timestamps are out of order', () => {
    const sut = takeInTimeOrder(runs(), 4);
    expect(sut.map((r) => `${r.partition}/${r.offset}`)).toEqual(['0/1', '1/7', '1/8', '0/2']);
  });

  it('breaks timestamp ties by partition and stops when the runs are exhausted', () => {
    const sut = takeInTimeOrder(
      new Map([
        [1, [rec(1, 0, 5)]],
        [0, [rec(0, 0, 5)]],
      ]),
      10,
    );
    expect(sut.map((r) => r.partition)).toEqual([0, 1]);
  });

  it('takes nothing from empty runs', () => {
    expect(takeInTimeOrder(new Map([[0, []]]), 3)).toEqual([]);
  });
});
