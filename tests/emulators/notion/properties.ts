// Data-source schemas and page property values: building a schema from a spec, validating
// property writes (rich text <= 2,000 characters per item, <= 100 items, known property names,
// matching value types) and rendering values in Notion's response shape.
// Invariants: every schema has exactly one title property, whose id is "title"; stored values
// are already in response shape so rendering is a lookup; unknown names never reach the store.

import { parseDateWrite } from "./dates.ts";
import type { DataSource, PropertySchema, PropertyType, SelectOption } from "./store.ts";
import { isRecord, randomString, uuid } from "./util.ts";

export const PROPERTY_TYPES: PropertyType[] = [
  "title",
  "rich_text",
  "date",
  "checkbox",
  "number",
  "select",
  "url",
];

/** The schema a database gets when the control API is not told otherwise. */
export const DEFAULT_SCHEMA: Record<string, PropertyType> = {
  Title: "title",
  Date: "date",
  Description: "rich_text",
  Location: "rich_text",
  Notes: "rich_text",
};

export const RICH_TEXT_MAX_CHARS = 2000;
export const ARRAY_MAX_ITEMS = 100;

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:;<=>?@[]^_`{|}";

/** Short URL-encoded property ids like Notion's ("%3AUPp", "Bq%3Ck"). */
function newPropertyId(taken: Set<string>): string {
  for (;;) {
    const id = encodeURIComponent(randomString(4, ID_ALPHABET));
    if (!taken.has(id)) return id;
  }
}

/** Build a schema from {Name: "type" | {type, options?: [names]}}; error message on failure. */
export function buildSchema(spec: unknown): PropertySchema[] | string {
  const source = spec === undefined ? DEFAULT_SCHEMA : spec;
  if (!isRecord(source)) return "properties must be an object of name -> type";
  const out: PropertySchema[] = [];
  const taken = new Set<string>();
  for (const [name, raw] of Object.entries(source)) {
    const type = (isRecord(raw) ? raw.type : raw) as PropertyType;
    if (!PROPERTY_TYPES.includes(type)) return `unsupported property type for ${name}`;
    const id = type === "title" ? "title" : newPropertyId(taken);
    if (taken.has(id)) return "a data source has exactly one title property";
    taken.add(id);
    const prop: PropertySchema = { id, name, type };
    if (type === "select") {
      const names = isRecord(raw) && Array.isArray(raw.options) ? raw.options : [];
      prop.options = names.map((n) => ({ id: uuid(), name: String(n), color: "default" }));
    }
    out.push(prop);
  }
  if (!out.some((p) => p.type === "title")) return "a data source needs a title property";
  return out;
}

/** Schema as rendered on a data source: {Name: {id, name, type, <type>: {...}}}. */
export function renderSchema(props: PropertySchema[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of props) {
    let config: Record<string, unknown> = {};
    if (p.type === "number") config = { format: "number" };
    if (p.type === "select") config = { options: p.options ?? [] };
    out[p.name] = { id: p.id, name: p.name, type: p.type, [p.type]: config };
  }
  return out;
}

export function findProperty(ds: DataSource, key: string): PropertySchema | undefined {
  return ds.properties.find((p) => p.name === key) ?? ds.properties.find((p) => p.id === key);
}

export function emptyValue(type: PropertyType): unknown {
  if (type === "title" || type === "rich_text") return [];
  if (type === "checkbox") return false;
  return null;
}

/** One property value in response shape: {id, type, <type>: value}. */
export function renderValue(prop: PropertySchema, stored: unknown): Record<string, unknown> {
  return {
    id: prop.id,
    type: prop.type,
    [prop.type]: stored === undefined ? emptyValue(prop.type) : structuredClone(stored),
  };
}

/** Concatenated plain text of a title / rich_text value. */
export function plainText(value: unknown): string {
  if (!Array.isArray(value)) return typeof value === "string" ? value : "";
  return value.map((t) => (isRecord(t) ? String(t.plain_text ?? "") : "")).join("");
}

const ANNOTATION_DEFAULTS = {
  bold: false,
  italic: false,
  strikethrough: false,
  underline: false,
  code: false,
  color: "default",
};

/** A full response-shape rich text item for plain content. */
export function textItem(content: string, link: string | null = null): Record<string, unknown> {
  return {
    type: "text",
    text: { content, link: link === null ? null : { url: link } },
    annotations: { ...ANNOTATION_DEFAULTS },
    plain_text: content,
    href: link,
  };
}

/** Validate a rich text array write; returns response-shape items or an error message. */
export function parseRichText(input: unknown, path: string): Record<string, unknown>[] | string {
  if (!Array.isArray(input)) return `${path} should be an array, instead was \`${typeof input}\`.`;
  if (input.length > ARRAY_MAX_ITEMS) {
    return `${path}.length should be ≤ \`${ARRAY_MAX_ITEMS}\`, instead was \`${input.length}\`.`;
  }
  const out: Record<string, unknown>[] = [];
  for (const [i, item] of input.entries()) {
    const at = `${path}[${i}]`;
    if (!isRecord(item)) return `${at} should be an object.`;
    if (item.type !== undefined && item.type !== "text") {
      return `${at}.type \`${String(item.type)}\` is not supported by the emulator (text only).`;
    }
    const text = item.text;
    if (!isRecord(text) || typeof text.content !== "string") {
      return `${at}.text.content should be a string.`;
    }
    if (text.content.length > RICH_TEXT_MAX_CHARS) {
      const n = text.content.length;
      const max = RICH_TEXT_MAX_CHARS;
      return `${at}.text.content.length should be ≤ \`${max}\`, instead was \`${n}\`.`;
    }
    let link: string | null = null;
    if (text.link !== undefined && text.link !== null) {
      if (!isRecord(text.link) || typeof text.link.url !== "string") {
        return `${at}.text.link.url should be a string.`;
      }
      link = text.link.url;
    }
    const rendered = textItem(text.content, link);
    if (isRecord(item.annotations)) {
      rendered.annotations = { ...ANNOTATION_DEFAULTS, ...item.annotations };
    }
    out.push(rendered);
  }
  return out;
}

export interface ParsedWrites {
  /** Property id -> new stored value. */
  values: Map<string, unknown>;
  /** Select options to add to the schema (Notion creates unknown option names on write). */
  newOptions: Array<{ propertyId: string; option: SelectOption }>;
}

/** Validate `properties` of a page create/update against a data source schema. */
export function parseWrites(
  ds: DataSource,
  input: unknown,
  path = "body.properties",
): ParsedWrites | string {
  const result: ParsedWrites = { values: new Map(), newOptions: [] };
  if (input === undefined) return result;
  if (!isRecord(input)) return `${path} should be an object, instead was \`${typeof input}\`.`;
  for (const [key, raw] of Object.entries(input)) {
    const prop = findProperty(ds, key);
    if (!prop) return `${key} is not a property that exists.`;
    const at = `${path}.${key}`;
    if (!isRecord(raw) || !(prop.type in raw)) return `${key} is expected to be ${prop.type}.`;
    if (raw.type !== undefined && raw.type !== prop.type) {
      return `${key} is expected to be ${prop.type}.`;
    }
    const value = parseValue(prop, raw[prop.type], `${at}.${prop.type}`, result);
    if (typeof value === "string") return value;
    result.values.set(prop.id, value.value);
  }
  return result;
}

function parseValue(
  prop: PropertySchema,
  v: unknown,
  at: string,
  acc: ParsedWrites,
): { value: unknown } | string {
  switch (prop.type) {
    case "title":
    case "rich_text": {
      const items = parseRichText(v, at);
      return typeof items === "string" ? items : { value: items };
    }
    case "date": {
      const d = parseDateWrite(v, at);
      return typeof d === "string" ? d : { value: d };
    }
    case "checkbox":
      return typeof v === "boolean" ? { value: v } : `${at} should be a boolean.`;
    case "number":
      return v === null || (typeof v === "number" && Number.isFinite(v))
        ? { value: v }
        : `${at} should be a number or \`null\`.`;
    case "url":
      if (v !== null && typeof v !== "string") return `${at} should be a string or \`null\`.`;
      if (typeof v === "string" && v.length > RICH_TEXT_MAX_CHARS) {
        return `${at}.length should be ≤ \`${RICH_TEXT_MAX_CHARS}\`.`;
      }
      return { value: v };
    case "select":
      return parseSelect(prop, v, at, acc);
  }
}

function parseSelect(
  prop: PropertySchema,
  v: unknown,
  at: string,
  acc: ParsedWrites,
): { value: unknown } | string {
  if (v === null) return { value: null };
  if (!isRecord(v)) return `${at} should be an object or \`null\`.`;
  const options = prop.options ?? [];
  const pending = acc.newOptions.filter((o) => o.propertyId === prop.id).map((o) => o.option);
  const all = [...options, ...pending];
  if (typeof v.id === "string") {
    const found = all.find((o) => o.id === v.id);
    return found ? { value: { ...found } } : `${at}.id does not match an existing option.`;
  }
  if (typeof v.name !== "string" || v.name === "") return `${at}.name should be a string.`;
  if (v.name.includes(",")) return `${at}.name cannot contain commas.`;
  if (v.name.length > 100) return `${at}.name.length should be ≤ \`100\`.`;
  let found = all.find((o) => o.name === v.name);
  if (!found) {
    found = { id: uuid(), name: v.name, color: "default" };
    acc.newOptions.push({ propertyId: prop.id, option: found });
  }
  return { value: { ...found } };
}
