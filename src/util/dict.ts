/**
 * A string-keyed record with no prototype. Queue and job names are user data: in a plain `{}`,
 * "constructor" or "toString" is already there (inherited) and "__proto__" cannot be set at all.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
