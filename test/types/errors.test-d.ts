import { expectTypeOf, test } from 'vitest';

import { ErrorCodes, SnapshotError, type ErrorCode } from '../../dist/index.js';

test('SnapshotError.code is the union of the error codes', () => {
  expectTypeOf<SnapshotError['code']>().toEqualTypeOf<ErrorCode>();
  expectTypeOf(ErrorCodes.InvalidParameter).toMatchTypeOf<ErrorCode>();
  // @ts-expect-error: not an error code
  const code: ErrorCode = 'InvalidParamter';
  void code;
});
