/**
 * Where every SMSC bind node connects (host, port, TLS on, verify certificate, optional CA
 * file) as the sessions' `host`, `port` and `tls` options: certificates are verified unless
 * turned off; an empty host, a port that is not one, or a CA file that cannot be read is a
 * configuration error with its reason.
 */
import { readFileSync } from "node:fs";

export interface SmscAddressSettings {
  host?: string;
  port?: string | number;
  tls?: boolean;
  tlsVerify?: boolean;
  caFile?: string;
}

export interface SmscAddress {
  host: string;
  port: number;
  tls: { rejectUnauthorized: boolean; ca?: Buffer } | undefined;
}

export function smscAddress(config: SmscAddressSettings): { address: SmscAddress } | { error: string } {
  const host = String(config.host ?? "").trim();
  if (!host) return { error: "SMSC host is empty" };
  const port = Number(config.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { error: `SMSC port "${String(config.port)}" is not a TCP port` };
  if (!config.tls) return { address: { host, port, tls: undefined } };
  const tls: { rejectUnauthorized: boolean; ca?: Buffer } = { rejectUnauthorized: config.tlsVerify !== false };
  if (config.caFile?.trim()) {
    try {
      tls.ca = readFileSync(config.caFile.trim());
    } catch (err) {
      return { error: `cannot read the CA file: ${(err as Error).message}` };
    }
  }
  return { address: { host, port, tls } };
}
