import { registerDecorator, type ValidationOptions } from 'class-validator';

/** ISO 4217 codes known to this runtime's ICU data. */
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

export const isCurrency = (value: unknown): value is string => typeof value === 'string' && CURRENCIES.has(value);

/** Largest amount in minor units the API accepts: fits PostgreSQL bigint and a JS number exactly. */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000;

/** class-validator: an ISO 4217 currency code, upper case. */
export function IsCurrency(options?: ValidationOptions) {
  return (target: object, propertyName: string) => {
    registerDecorator({
      name: 'isCurrency',
      target: target.constructor,
      propertyName,
      ...(options ? { options } : {}),
      validator: {
        validate: isCurrency,
        defaultMessage: () => `${propertyName} must be an ISO 4217 currency code such as EUR or USD`,
      },
    });
  };
}

/** TypeORM transformer for bigint money columns (the pg driver returns bigint as a string). */
export const bigintMoney = {
  to: (value: number | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
