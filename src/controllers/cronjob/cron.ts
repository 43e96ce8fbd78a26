// A standard 5-field cron schedule (minute hour day-of-month month day-of-week) with ranges,
// steps, lists, month/day names, `?`, and the @yearly/@annually/@monthly/@weekly/@daily/@midnight/
// @hourly descriptors and @every <duration>, evaluated in a time zone (an IANA name; UTC when none). Day-of-month and
// day-of-week combine as in Vixie cron: when both are restricted, a day matching either counts.

interface FieldSpec {
  min: number;
  max: number;
  names?: string[];
}

const MINUTE: FieldSpec = { min: 0, max: 59 };
const HOUR: FieldSpec = { min: 0, max: 23 };
const DOM: FieldSpec = { min: 1, max: 31 };
const MONTH: FieldSpec = {
  min: 1,
  max: 12,
  names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
};
const DOW: FieldSpec = { min: 0, max: 6, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] };

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

export class CronError extends Error {}

function parseValue(text: string, f: FieldSpec): number {
  const named = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + f.min;
  if (!/^\d+$/.test(text)) throw new CronError(`failed to parse int from ${text}`);
  const n = Number(text);
  // Day-of-week 7 is Sunday, as in most crons; values are taken modulo 7 when added.
  const max = f === DOW ? 7 : f.max;
  if (n < f.min || n > max) throw new CronError(`value ${n} out of range [${f.min}, ${f.max}]`);
  return n;
}

/** One field → the set of values it allows, and whether it was `*` / `?` (unrestricted). */
function parseField(text: string, f: FieldSpec): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(",")) {
    if (part === "") throw new CronError(`empty list item in ${text}`);
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined) throw new CronError(`too many slashes: ${part}`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw new CronError(`bad step in ${part}`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*" || range === "?") {
      lo = f.min;
      hi = f.max;
      if (stepText === undefined) star = true;
    } else {
      const bounds = (range ?? "").split("-");
      if (bounds.length > 2) throw new CronError(`too many hyphens: ${part}`);
      lo = parseValue(bounds[0] ?? "", f);
      hi = bounds.length === 2 ? parseValue(bounds[1] ?? "", f) : stepText === undefined ? lo : f.max;
      if (hi < lo) throw new CronError(`beginning of range (${lo}) beyond end of range (${hi}): ${part}`);
    }
    for (let v = lo; v <= hi; v += step) values.add(f === DOW ? v % 7 : v);
  }
  return { values, star };
}

export interface Schedule {
  /** @every <duration>: a fixed interval instead of the fields below. */
  everyMs?: number;
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  domStar: boolean;
  dowStar: boolean;
  timeZone?: string;
}

/** Parses a schedule; throws CronError with a readable message on bad input. */
export function parseSchedule(text: string, timeZone?: string): Schedule {
  const trimmed = text.trim();
  if (trimmed.startsWith("@every ")) return everySchedule(trimmed.slice(7).trim());
  const expanded = trimmed.startsWith("@") ? DESCRIPTORS[trimmed] : trimmed;
  if (expanded === undefined) throw new CronError(`unrecognized descriptor: ${trimmed}`);
  const fields = expanded.split(/\s+/).filter((s) => s !== "");
  if (fields.length !== 5)
    throw new CronError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`);
  if (timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone });
    } catch {
      throw new CronError(`unknown time zone ${timeZone}`);
    }
  }
  const [mi, h, dom, mo, dow] = fields as [string, string, string, string, string];
  const d = parseField(dom, DOM);
  const w = parseField(dow, DOW);
  return {
    minutes: parseField(mi, MINUTE).values,
    hours: parseField(h, HOUR).values,
    daysOfMonth: d.values,
    months: parseField(mo, MONTH).values,
    daysOfWeek: w.values,
    domStar: d.star,
    dowStar: w.star,
    timeZone,
  };
}

const durationUnits: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 1e-6,
};

/** robfig/cron's ConstantDelaySchedule: a Go duration, rounded down to whole seconds (at least one). */
function everySchedule(text: string): Schedule {
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let ms = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    ms += Number(m[1]) * (durationUnits[m[2] ?? ""] ?? 0);
    consumed = re.lastIndex;
  }
  if (text === "" || consumed !== text.length) throw new CronError(`failed to parse duration @every ${text}`);
  const empty = new Set<number>();
  return {
    everyMs: Math.max(1000, Math.floor(ms / 1000) * 1000),
    minutes: empty,
    hours: empty,
    daysOfMonth: empty,
    months: empty,
    daysOfWeek: empty,
    domStar: false,
    dowStar: false,
  };
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time at instant ms in the zone. */
function wallAt(ms: number, timeZone: string | undefined): Wall {
  if (timeZone === undefined || timeZone === "UTC" || timeZone === "Etc/UTC") {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
    };
  }
  let fmt = formatters.get(timeZone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
    formatters.set(timeZone, fmt);
  }
  const parts: Record<string, number> = {};
  for (const p of fmt.formatToParts(ms)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
  };
}

function dayMatches(s: Schedule, w: Wall): boolean {
  const dow = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay();
  const domOk = s.daysOfMonth.has(w.day);
  const dowOk = s.daysOfWeek.has(dow);
  if (s.domStar || s.dowStar) return domOk && dowOk;
  return domOk || dowOk;
}

/**
 * The first scheduled instant strictly after `afterMs`, or undefined if none within five years.
 * Steps over whole non-matching months, days and hours, so a sparse schedule costs little.
 */
export function nextAfter(s: Schedule, afterMs: number): number | undefined {
  if (s.everyMs !== undefined) return Math.floor(afterMs / 1000) * 1000 + s.everyMs;
  const limit = afterMs + 5 * 366 * 86_400_000;
  // Start at the next whole minute.
  let t = Math.floor(afterMs / 60_000) * 60_000 + 60_000;
  while (t <= limit) {
    const w = wallAt(t, s.timeZone);
    if (!s.months.has(w.month)) {
      t = startOfNext(t, w, "month", s.timeZone);
      continue;
    }
    if (!dayMatches(s, w)) {
      t = startOfNext(t, w, "day", s.timeZone);
      continue;
    }
    if (!s.hours.has(w.hour)) {
      t = startOfNext(t, w, "hour", s.timeZone);
      continue;
    }
    if (!s.minutes.has(w.minute)) {
      t += 60_000;
      continue;
    }
    return t;
  }
  return undefined;
}

/** The first instant after t at which the wall clock starts a new month/day/hour (always > t). */
function startOfNext(t: number, w: Wall, unit: "month" | "day" | "hour", tz: string | undefined): number {
  // Offsets are whole minutes in every zone in use, so stepping by wall minutes stays aligned.
  if (unit === "hour") return t + (60 - w.minute) * 60_000;
  let next = t + ((23 - w.hour) * 60 + (60 - w.minute)) * 60_000;
  // A DST change makes some days 23 or 25 hours long: settle on the first minute of the new day.
  const landed = wallAt(next, tz);
  if (landed.day !== w.day && (landed.hour !== 0 || landed.minute !== 0))
    next -= (landed.hour * 60 + landed.minute) * 60_000;
  else if (landed.day === w.day) next += (24 - landed.hour) * 3_600_000 - landed.minute * 60_000;
  if (unit === "day") return Math.max(next, t + 60_000);
  while (wallAt(next, tz).month === w.month) next = startOfNext(next, wallAt(next, tz), "day", tz);
  return next;
}
