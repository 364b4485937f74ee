/**
 * Node-RED substitutes `${VAR}` in node properties but not in credentials. The example flows
 * must run unchanged from environment variables (RAPIDPRO_AUTH, SMPP_PASSWORD, RAPPORTO_PASS),
 * so a credential whose whole value is `${VAR}` is read from the environment here.
 */
const WHOLE_ENV_REFERENCE = /^\$\{(\w+)\}$/;

export function resolveCredential(value: string | undefined): string {
  if (!value) return "";
  const match = WHOLE_ENV_REFERENCE.exec(value.trim());
  return match ? process.env[match[1]] ?? "" : value;
}
