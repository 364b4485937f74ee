/**
 * The two ways a Rapporto account can be spoken to. "v5" is HTTP API v5.0 with its fixed
 * parameter names. "custom" is the older partner-specific interface ("names of the parameters
 * ... are adjusted on the Rapporto platform"), whose names and reply format are not public,
 * so everything about it is configuration (aggregator-protocols.md §1.4).
 */

export type HttpMethod = "GET" | "POST";

export interface V5Profile {
  kind: "v5";
  method: HttpMethod;
  /** `output=xml` asks for the XML reply instead of `OK\n<id>`. */
  output: "text" | "xml";
}

/** Parameter names of the custom interface; a role without a name is not sent. */
export interface CustomParams {
  destination: string;
  text: string;
  sender?: string;
  login?: string;
  password?: string;
  partnerMsgId?: string;
  schedule?: string;
}

export interface CustomProfile {
  kind: "custom";
  method: HttpMethod;
  params: CustomParams;
  /** Regular expression with a named group `id` that finds the message id in the reply body. */
  idPattern: string;
  /** Regular expression that a successful reply body matches (e.g. `^ok;`). */
  successPattern: string;
}

export type Profile = V5Profile | CustomProfile;

/** What a Rapporto account needs to send. `pass` is a secret: never put it in logs or errors. */
export interface Account {
  url: string;
  serviceId: string;
  pass: string;
  /** Sender name; Rapporto sends it only when enabled for the service. */
  source?: string;
  profile: Profile;
}

/** Profile checked once at configuration time, with its patterns compiled. */
export type CompiledProfile = V5Profile | (CustomProfile & { id: RegExp; success: RegExp });

function compilePattern(pattern: string, what: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new Error(`${what} is not a valid regular expression: ${(err as Error).message}`);
  }
}

const PARAM_NAME = /^[A-Za-z0-9_.\-[\]]{1,64}$/;

/** Checks a profile; throws an Error that says which setting is wrong. */
export function compileProfile(profile: Profile): CompiledProfile {
  if (profile.method !== "GET" && profile.method !== "POST") throw new Error(`method must be GET or POST, not "${String(profile.method)}"`);
  if (profile.kind === "v5") {
    if (profile.output !== "text" && profile.output !== "xml") throw new Error(`output must be text or xml, not "${String(profile.output)}"`);
    return profile;
  }
  if (profile.kind !== "custom") throw new Error(`unknown profile "${String((profile as { kind: unknown }).kind)}"`);
  const names = Object.entries(profile.params).filter(([, name]) => name !== undefined && name !== "");
  for (const role of ["destination", "text"] as const) {
    if (!profile.params[role]) throw new Error(`custom profile needs a parameter name for ${role}`);
  }
  for (const [role, name] of names) {
    if (!PARAM_NAME.test(String(name))) throw new Error(`parameter name for ${role} is not usable: "${String(name)}"`);
  }
  const seen = new Set<string>();
  for (const [role, name] of names) {
    if (seen.has(String(name))) throw new Error(`parameter name "${String(name)}" is used twice (again for ${role})`);
    seen.add(String(name));
  }
  const id = compilePattern(profile.idPattern, "reply id pattern");
  if (!profile.idPattern.includes("(?<id>")) throw new Error("reply id pattern needs a named group (?<id>...)");
  const success = compilePattern(profile.successPattern, "reply success pattern");
  return { ...profile, id, success };
}
