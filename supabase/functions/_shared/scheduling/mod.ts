/**
 * Public API of the pure scheduling engine. It knows no provider and no database: it sees busy
 * intervals (from any source), sessions and preferences, and returns a plan.
 */
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
export { blockKey, diffPlans, keyBlocks } from "./diff.ts";
export { clip, mergeSorted, normalize, subtract, unionOfBounds } from "./intervals.ts";
export { localTimeToEpochMs, parseWorkingHours, workingWindows } from "./working_windows.ts";
