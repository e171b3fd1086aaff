// Wire shapes of the Google Calendar v3 resources we touch (only the fields we read are typed;
// everything else passes through untouched via the index signature).

export interface GoogleEventDateTime {
  /** All-day events: "yyyy-mm-dd". */
  date?: string;
  /** Timed events: RFC 3339, normally with an offset. */
  dateTime?: string;
  timeZone?: string;
}

export interface GoogleEventAttendee {
  email?: string;
  self?: boolean;
  organizer?: boolean;
  resource?: boolean;
  responseStatus?: "needsAction" | "declined" | "tentative" | "accepted" | string;
  [key: string]: unknown;
}

export interface GoogleEvent {
  id: string;
  status?: "confirmed" | "tentative" | "cancelled" | string;
  summary?: string;
  start?: GoogleEventDateTime;
  end?: GoogleEventDateTime;
  transparency?: "opaque" | "transparent" | string;
  eventType?: string;
  attendees?: GoogleEventAttendee[];
  organizer?: { email?: string; self?: boolean; [key: string]: unknown };
  recurringEventId?: string;
  originalStartTime?: GoogleEventDateTime;
  etag?: string;
  updated?: string;
  iCalUID?: string;
  extendedProperties?: {
    private?: Record<string, string>;
    shared?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** One page of events.list, as Google sent it. */
export interface GoogleEventsPage {
  items: GoogleEvent[];
  /** Mutually exclusive with nextSyncToken. */
  nextPageToken?: string;
  /** Only on the last page. */
  nextSyncToken?: string;
  timeZone?: string;
  [key: string]: unknown;
}

/** Query parameters of events.list that this project uses. */
export interface ListEventsParams {
  maxResults?: number;
  singleEvents?: boolean;
  showDeleted?: boolean;
  timeMin?: string;
  timeMax?: string;
  syncToken?: string;
  pageToken?: string;
  timeZone?: string;
  orderBy?: "startTime" | "updated";
  updatedMin?: string;
  privateExtendedProperty?: string | string[];
  eventTypes?: string[];
}

export interface WatchChannelRequest {
  /** Unique per channel, <= 64 chars (a UUID). Reusing one → 400 channelIdNotUnique. */
  id: string;
  /** HTTPS receiver URL. */
  address: string;
  /** Echoed in X-Goog-Channel-Token; <= 256 chars; used to authenticate notifications. */
  token?: string;
  /** Requested lifetime; Google applies the more restrictive of this and its own limit. */
  ttlSeconds?: number;
}

export interface WatchChannel {
  id: string;
  resourceId: string;
  resourceUri: string | null;
  /** Epoch ms, from the response (Google sends an int64 as a string). */
  expiration: number;
}
