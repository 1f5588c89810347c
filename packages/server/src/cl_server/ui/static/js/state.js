// What the page knows about jobs and workers, merged from list calls and live events.
//
// Events and list answers can cross: a list fetched while a job finishes may arrive after the
// job's "completed" event. Every job therefore keeps the time of the newest state it shows
// (_stateAt), and older news never overwrites newer.

export const TERMINAL = new Set(["completed", "failed", "error", "cancelled"]);

export const jobs = new Map();
export const workers = new Map();
const listeners = new Set();

/** fn(kind, id): kind is "jobs" (id = the job id, or null for many) or "workers". */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed(kind, id = null) {
  for (const fn of listeners) fn(kind, id);
}

function stateTime(job) {
  return Math.max(job.updated_at ?? 0, job.completed_at ?? 0, job.created_at ?? 0);
}

function merge(job) {
  const known = jobs.get(job.job_id);
  const at = stateTime(job);
  if (known && known._stateAt > at) {
    // The snapshot is older than an event already applied: keep the event's status/progress.
    jobs.set(job.job_id, { ...job, status: known.status, progress: known.progress, _stateAt: known._stateAt });
  } else {
    jobs.set(job.job_id, { ...job, _stateAt: at });
  }
}

export function upsertJob(job) {
  merge(job);
  changed("jobs", job.job_id);
}

export function upsertJobs(list, { replace = false } = {}) {
  if (replace) jobs.clear();
  for (const job of list) merge(job);
  changed("jobs");
}

export function forgetJob(id) {
  jobs.delete(id);
  changed("jobs", id);
}

/** Apply a job event; false when the job is not known yet (the caller fetches it). */
export function applyJobEvent(event) {
  const known = jobs.get(event.job_id);
  if (!known) return false;
  if (event.timestamp < known._stateAt) return true;
  jobs.set(event.job_id, {
    ...known,
    status: event.event_type,
    progress: event.progress ?? known.progress,
    _stateAt: event.timestamp,
  });
  changed("jobs", event.job_id);
  return true;
}

export function setWorkers(list) {
  workers.clear();
  for (const info of list) workers.set(info.worker_id, info);
  changed("workers");
}

export function upsertWorker(info) {
  workers.set(info.worker_id, info);
  changed("workers", info.worker_id);
}

/** Jobs newest first. */
export function sortedJobs() {
  return [...jobs.values()].sort(
    (a, b) => b.created_at - a.created_at || (a.job_id < b.job_id ? 1 : -1),
  );
}
