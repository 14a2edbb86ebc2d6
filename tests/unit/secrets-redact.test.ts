// Free text a gate publishes (test output) is masked: values of secret-named
// environment variables, and anything the embedded rules recognise.
import { redactText, REDACTED } from '../../packages/security/src/secrets/redact.ts';
import { randomAwsAccessKeyId } from '../../packages/security/src/secrets/token-samples.ts';

describe('redactText', () => {
  it('masks the value of a secret-named variable and a recognised token, keeps the rest', async () => {
    const key = randomAwsAccessKeyId();
    const out = await redactText(
      `login with s3cr3t-value-123 failed; key ${key} rejected; 42 tests`,
      {
        DEPLOY_TOKEN: 's3cr3t-value-123',
        HOME: '/root'
      }
    );
    expect(out).not.toContain('s3cr3t-value-123');
    expect(out).not.toContain(key);
    expect(out).toBe(`login with ${REDACTED} failed; key ${REDACTED} rejected; 42 tests`);
  });

  it('leaves text without secrets unchanged, and ignores short or non-secret variables', async () => {
    expect(
      await redactText('FAILED tests/test_ops.py::test_div', { HOME: '/root', X_TOKEN: 'ab' })
    ).toBe('FAILED tests/test_ops.py::test_div');
  });
});
