/** Public API of the pure scheduling engine. */
export { planSchedule } from "./engine.ts";
export type {
  Block,
  BusySource,
  EpochMs,
  Interval,
  PlanBlock,
  PlanDiff,
  Preferences,
  ScheduleInput,
  ScheduleResult,
  Session,
  SessionAction,
  SessionResult,
  SessionStatus,
  TimeRange,
  UnscheduledReason,
  Weekday,
} from "./types.ts";
export {
  DEFAULT_GRANULARITY_MINUTES,
  DEFAULT_MIN_BLOCK_MINUTES,
  ScheduleInputError,
  UNSCHEDULED_REASONS,
} from "./types.ts";
export {
  calendarEventsToBusy,
  calendarEventToBusy,
  classifyEvent,
  isBusyEvent,
} from "./busy_policy.ts";
export type {
  BusyDecision,
  BusyDecisionRule,
  BusyPolicyPrefs,
  CalendarEventRow,
  GoogleEventStatus,
  GoogleEventType,
  GoogleResponseStatus,
  GoogleTransparency,
} from "./busy_policy.ts";
export { blockKey, diffPlans, keyBlocks } from "./diff.ts";
export { Hash64, hashScheduleInput, Multiset } from "./hash.ts";
export { mergeSorted, normalize, subtract, unionOfBounds, widen } from "./intervals.ts";
export { localTimeToEpochMs, parseWorkingHours, workingWindows } from "./working_windows.ts";
