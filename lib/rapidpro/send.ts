/**
 * Reading courier's send request (MT) into the MT contract.
 *
 * Courier's EX channel sends each part of a message as one request, with the method
 * (GET, POST, PUT), content type (urlencoded, json, xml or any custom header value) and body
 * template the channel was claimed with. Variables in the URL are always query-escaped; in
 * the body they are encoded for the content type, or not at all for a custom one.
 * (reference: rapidpro-external-channel.md §3)
 */
import { XMLParser } from "fast-xml-parser";
import type { MT } from "../contract";
import { loneSurrogateAt } from "../http/utf8";
import { controlCharacterRefusal, logLine, quoted } from "../text/peer-value";
import { isMessageId } from "./uuid";

/** Which request field holds each MT property: comma-separated names, tried in order. */
export interface FieldMapping {
  to: string;
  text: string;
  from: string;
  id: string;
  channel: string;
  quickReplies: string;
  sessionStatus: string;
}

/** Courier's variable names as the default body template and URL use them. */
export const DEFAULT_FIELDS: FieldMapping = {
  to: "to,to_no_plus",
  text: "text",
  from: "from,from_no_plus",
  id: "uuid,id",
  channel: "channel",
  quickReplies: "quick_replies,quick_reply",
  sessionStatus: "session_status",
};

/**
 * How to read the body. `auto` follows the Content-Type header; `raw` is for channels claimed
 * with a custom content type, where courier substitutes values without any encoding, so the
 * body is split on `&` and `=` and nothing is decoded (a text containing `&` cannot be told
 * apart there: prefer urlencoded, json or xml).
 */
export type BodyFormat = "auto" | "form" | "json" | "xml" | "raw";

export interface SendRequest {
  method: string;
  /** The Content-Type header, if any. */
  contentType?: string;
  /** The raw query string, without `?`. */
  query: string;
  /** The raw body as text ("" when there is none). */
  body: string;
}

export type SendParseResult = { ok: true; mt: MT } | { ok: false; status: number; reason: string };

type Fields = Map<string, string[]>;

/**
 * The parser expands no entity at all: values come out as written and `decodeXmlText` decodes
 * only what courier's `xml.EscapeText` writes (the five predefined entities and character
 * references). A DOCTYPE is refused before parsing (`parseXml`), so no declared entity,
 * internal or external, can be expanded (issue #14).
 */
const xml = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === "item",
  processEntities: false,
  htmlEntities: false,
});

export function parseSendRequest(req: SendRequest, mapping: FieldMapping = DEFAULT_FIELDS, format: BodyFormat = "auto"): SendParseResult {
  const fields: Fields = req.query === "" ? new Map() : fieldsOf(new URLSearchParams(req.query));

  const method = req.method.toUpperCase();
  if (method !== "GET" && method !== "POST" && method !== "PUT") {
    return { ok: false, status: 405, reason: `method ${method} not allowed: courier sends GET, POST or PUT` };
  }
  if (method !== "GET" && req.body.length > 0) {
    const bodyFormat = bodyFormatOf(req.contentType, format);
    const parsed = parseBody(req.body, bodyFormat);
    if (typeof parsed === "string") return { ok: false, status: 400, reason: parsed };
    for (const [name, values] of parsed) fields.set(name, values);
  }

  const to = first(fields, mapping.to);
  const text = first(fields, mapping.text);
  if (!to) return { ok: false, status: 400, reason: `missing destination: none of ${names(mapping.to)} in the request` };
  if (text === undefined || text === "") return { ok: false, status: 400, reason: `missing text: none of ${names(mapping.text)} in the request` };

  const mt: MT = { id: first(fields, mapping.id) ?? "", to, from: first(fields, mapping.from) ?? "", text };
  const channel = first(fields, mapping.channel);
  if (channel) mt.channel = channel;
  const quickReplies = all(fields, mapping.quickReplies);
  if (quickReplies.length > 0) mt.quickReplies = quickReplies;
  const sessionStatus = first(fields, mapping.sessionStatus);
  if (sessionStatus) mt.sessionStatus = sessionStatus;
  const refusal = fieldRefusal(mt);
  if (refusal) return { ok: false, status: 400, reason: refusal };
  return { ok: true, mt };
}

/**
 * Longest id, address, channel or session status accepted. Courier's are far shorter (a UUID
 * is 36 characters, E.164 numbers at most 16, SMPP's destination_addr 20 octets); a longer
 * one is not courier's, and would only fill logs and error bodies.
 */
export const MAX_FIELD_CHARS = 64;

/**
 * Why the MT's identifiers cannot be submitted, if they cannot (issue #14): control
 * characters (C0, C1, CR, LF, NUL) in anything but the texts, values over MAX_FIELD_CHARS,
 * and an id in neither of courier's two forms. An absent or empty id stays accepted, as
 * docs/design.md decision 3 says (courier's GET templates carry no `{{uuid}}`); a present
 * but malformed one is refused before anything is submitted, since courier would refuse
 * every status posted for it later.
 */
function fieldRefusal(mt: MT): string | undefined {
  const fields: Array<[string, string | undefined]> = [
    ["id", mt.id],
    ["to", mt.to],
    ["from", mt.from],
    ["channel", mt.channel],
    ["session_status", mt.sessionStatus],
  ];
  for (const [name, value] of fields) {
    if (value === undefined) continue;
    const control = controlCharacterRefusal(name, value);
    if (control) return control;
    if (value.length > MAX_FIELD_CHARS) return `${name} is ${value.length} characters long, over the ${MAX_FIELD_CHARS} allowed: ${quoted(value)}`;
  }
  if (mt.id !== "" && !isMessageId(mt.id)) {
    return `id ${quoted(mt.id)} is neither a message UUID (lowercase, as courier sends it) nor a positive integer id`;
  }
  return undefined;
}

/** How a body with this Content-Type is read under the `format` setting. */
export function bodyFormatOf(contentType: string | undefined, format: BodyFormat): Exclude<BodyFormat, "auto"> {
  return format === "auto" ? formatOf(contentType) : format;
}

/** Courier's content types: urlencoded, json and xml by header; anything else is custom (raw). */
function formatOf(contentType: string | undefined): Exclude<BodyFormat, "auto"> {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") return contentType?.includes(";") ? "raw" : "form";
  if (type === "application/json" || type.endsWith("+json")) return "json";
  if (type === "text/xml" || type === "application/xml" || type.endsWith("+xml")) return "xml";
  return "raw";
}

function parseBody(body: string, format: Exclude<BodyFormat, "auto">): Fields | string {
  switch (format) {
    case "form":
      return fieldsOf(new URLSearchParams(body));
    case "json":
      return parseJson(body);
    case "xml":
      return parseXml(body);
    case "raw":
      return parseRaw(body);
  }
}

function parseJson(body: string): Fields | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return `unparseable JSON body: ${logLine((err as Error).message, 160)}`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "JSON body must be an object";
  const fields: Fields = new Map();
  for (const [name, v] of Object.entries(value)) {
    const values = Array.isArray(v) ? v.filter(isScalar).map(String) : isScalar(v) ? [String(v)] : undefined;
    if (values === undefined) continue;
    for (const text of [name, ...values]) {
      const at = loneSurrogateAt(text);
      if (at >= 0) return `JSON body: ${quoted(name, 32)} holds a lone surrogate (\\u${text.charCodeAt(at).toString(16)}) at character ${at}: not a character`;
    }
    fields.set(name, values);
  }
  return fields;
}

/** A document type declaration anywhere: courier never sends one, and it is where entities are declared. */
const DOCTYPE = /<!DOCTYPE/i;

function parseXml(body: string): Fields | string {
  if (DOCTYPE.test(body)) return "XML body has a DOCTYPE: refused, since courier never sends one and no entity is expanded";
  let doc: unknown;
  try {
    doc = xml.parse(body, true);
  } catch (err) {
    return `unparseable XML body: ${logLine((err as Error).message, 160)}`;
  }
  const fields: Fields = new Map();
  try {
    collectXml(doc, fields);
  } catch (err) {
    return (err as Error).message;
  }
  if (fields.size === 0) return "XML body has no elements";
  return fields;
}

/** Every element anywhere in the document, by its name; the first occurrence wins. Throws on an entity courier does not write. */
function collectXml(node: unknown, fields: Fields): void {
  if (node === null || typeof node !== "object") return;
  for (const [name, value] of Object.entries(node as Record<string, unknown>)) {
    if (name.startsWith("?")) continue;
    const items = isItemList(value);
    if (items && !fields.has(name)) fields.set(name, items.map(decodeXmlText));
    else if (isScalar(value) && !fields.has(name)) fields.set(name, [decodeXmlText(String(value))]);
    else if (value === "" && !fields.has(name)) fields.set(name, []);
    collectXml(value, fields);
  }
}

const PREDEFINED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const REFERENCE = /&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);?/g;

/**
 * Text as XML 1.0 defines it without a DTD: the five predefined entities and character
 * references (`&#xA;`, `&#34;`), which is all Go's `xml.EscapeText` writes (reference §3.3).
 * Any other entity could only be declared in a DTD, so it is refused.
 */
export function decodeXmlText(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(REFERENCE, (whole, ref: string) => {
    if (!whole.endsWith(";")) throw new Error(`XML text has an unterminated reference ${quotedRef(whole)}`);
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      const allowed = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
      if (!allowed) throw new Error(`XML text has a character reference to no character: ${quotedRef(whole)}`);
      return String.fromCodePoint(code);
    }
    const predefined = PREDEFINED_ENTITIES[ref];
    if (predefined === undefined) throw new Error(`XML text has the entity ${quotedRef(whole)}, which is not one of XML's five: refused, no entity is expanded`);
    return predefined;
  });
}

function quotedRef(ref: string): string {
  return quoted(ref, 32);
}

/** `<quick_replies><item>One</item><item>Two</item></quick_replies>` as courier renders them. */
function isItemList(value: unknown): string[] | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const item = (value as Record<string, unknown>).item;
  return Array.isArray(item) ? item.filter(isScalar).map(String) : undefined;
}

function parseRaw(body: string): Fields {
  const fields: Fields = new Map();
  for (const pair of body.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? "" : pair.slice(eq + 1);
    fields.set(name, [...(fields.get(name) ?? []), value]);
  }
  return fields;
}

/** Each name's values, in order. */
function fieldsOf(params: URLSearchParams): Fields {
  const fields: Fields = new Map();
  for (const [name, value] of params) {
    const values = fields.get(name);
    if (values) values.push(value);
    else fields.set(name, [value]);
  }
  return fields;
}

/** A mapping's lists split into names once: they are read on every request. */
const splitLists = new Map<string, string[]>();

function names(list: string): string[] {
  let split = splitLists.get(list);
  if (!split) {
    split = list.split(",").map((n) => n.trim()).filter(Boolean);
    // Bounded: a flow has a handful of mappings; anything beyond is split each time.
    if (splitLists.size < 256) splitLists.set(list, split);
  }
  return split;
}

function first(fields: Fields, list: string): string | undefined {
  for (const name of names(list)) {
    const values = fields.get(name);
    if (values && values.length > 0) return values[0];
  }
  return undefined;
}

function all(fields: Fields, list: string): string[] {
  for (const name of names(list)) {
    const values = fields.get(name);
    if (values && values.length > 0) return values.filter((v) => v !== "");
  }
  return [];
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}
