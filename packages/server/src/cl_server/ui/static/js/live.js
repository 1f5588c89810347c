// The /events stream (Server-Sent Events). EventSource reconnects by itself and resumes with
// Last-Event-ID; it cannot send headers, so the token travels as ?access_token=.

import { apiUrl, session } from "./api.js";

const RETRY_AFTER_CLOSE_MS = 3000;

/**
 * handlers: onReady(first), onReset(), onJob(event), onWorker(info), onDenied(detail),
 * onClosed() (the server refused the stream, e.g. 401), onState("live" | "reconnecting").
 */
export function connectLive(handlers) {
  let source = null;
  let lastEventId = null;
  let readyOnce = false;
  let stopped = false;
  let retryTimer = null;

  function remember(event) {
    if (event.lastEventId) lastEventId = event.lastEventId;
  }

  function open() {
    const params = { access_token: session.token };
    // Only for a stream we opened again ourselves; EventSource's own reconnects send the header.
    if (lastEventId) params.last_event_id = lastEventId;
    source = new EventSource(apiUrl("events", params));
    source.addEventListener("open", () => handlers.onState("live"));
    source.addEventListener("ready", (event) => {
      remember(event);
      handlers.onState("live");
      handlers.onReady(!readyOnce);
      readyOnce = true;
    });
    source.addEventListener("reset", (event) => {
      remember(event);
      readyOnce = true;
      handlers.onReset();
    });
    source.addEventListener("job", (event) => {
      remember(event);
      handlers.onJob(JSON.parse(event.data));
    });
    source.addEventListener("worker", (event) => {
      remember(event);
      handlers.onWorker(JSON.parse(event.data));
    });
    source.addEventListener("denied", (event) => {
      close();
      handlers.onDenied(JSON.parse(event.data).detail);
    });
    source.addEventListener("error", () => {
      if (stopped) return;
      handlers.onState("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        // A non-200 answer: EventSource gives up. Let the page check why, then try again.
        source = null;
        handlers.onClosed();
        retryTimer = setTimeout(() => {
          if (!stopped) open();
        }, RETRY_AFTER_CLOSE_MS);
      }
    });
  }

  function close() {
    stopped = true;
    clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
  }

  open();
  return { close };
}
