/**
 * `${VAR}` references that Node-RED leaves to us.
 *
 * Node-RED substitutes a property whose whole value is `${VAR}`, but not in credentials, and it
 * leaves the reference as it is when the variable is not set. The example flows must run from
 * environment variables alone (RAPIDPRO_AUTH, SMPP_PASSWORD, RAPPORTO_PASS, STORE_URL), with an
 * unset variable meaning "empty", so such a value is read from the environment here.
 */
const WHOLE_ENV_REFERENCE = /^\$\{(\w+)\}$/;

export function resolveEnvReference(value: string | undefined): string {
  if (!value) return "";
  const match = WHOLE_ENV_REFERENCE.exec(value.trim());
  return match ? process.env[match[1]] ?? "" : value;
}
