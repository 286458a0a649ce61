// Type-checked by `tsc --noEmit -p .`: the same API from an ES module.
import { Validator, ConfigurationError, type TokenInfo } from 'bearerguard';
import { requireToken } from 'bearerguard/express';

const validator = new Validator({ issuer: 'https://auth.example.com', audience: 'api' });
export const middleware = requireToken({ validator });
export async function subject(token: string): Promise<string | null> {
  const info: TokenInfo = await validator.validate(token);
  return info.subject;
}
export const isConfigError = (e: unknown): boolean => e instanceof ConfigurationError;
